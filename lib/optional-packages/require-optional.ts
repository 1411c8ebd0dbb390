/**
 * Loads an optional package at the moment a feature needs it, never when the library is imported,
 * so apps that do not use the feature need not install it (nor pay for loading it).
 * Only the package itself being absent becomes `missing(name)`; any other load failure is a real fault.
 */
export function requireOptional<T>(name: string, load: () => T, missing: (name: string) => Error): T {
  try {
    return load();
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === 'MODULE_NOT_FOUND' && message.includes(`'${name}'`)) throw missing(name);
    throw error;
  }
}
