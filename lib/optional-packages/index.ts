export { requireOptional } from './require-optional';
