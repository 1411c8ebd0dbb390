import Handlebars from 'handlebars';
import type { TemplateProblem, TemplateField } from './template.validation.types';

/** Block helpers a template may use: Handlebars' own, none of which reaches outside the context. */
const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
/** Blocks whose inside reads another context (an item, an object): its paths are not the send's variables. */
const SCOPING_HELPERS = new Set(['each', 'with']);
/** Property names that lead from a value to its prototype or constructor, and so towards code. */
const PROTOTYPE_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype', 'call', 'apply', 'bind']);

interface Location {
  start: { line: number; column: number };
}
interface PathNode {
  type: 'PathExpression';
  original: string;
  parts: string[];
  data: boolean;
  depth: number;
  loc: Location;
}
interface Node {
  type: string;
  loc: Location;
  path?: PathNode | { type: string };
  params?: Array<{ type: string }>;
  hash?: unknown;
  escaped?: boolean;
  program?: { body: Node[] };
  inverse?: { body: Node[] };
}

/** What the Handlebars of one field uses and gets wrong. */
export interface HandlebarsReport {
  /** Variables read from the send's context (outside `each`/`with`), dotted: `device.browser`. */
  variables: string[];
  problems: TemplateProblem[];
}

/** `this.device/browser` → `device.browser`. */
function variableOf(path: PathNode): string {
  return path.parts.join('.');
}

/**
 * Parses a field's Handlebars and refuses what a stored template must not do: helpers other than
 * if/unless/each/with, partials and decorators (no code of the app's to call), a path through a
 * prototype key (`{{constructor.constructor}}`), in HTML a triple-stash (or `{{& …}}`) of anything but
 * `brand.*` (user data would reach the HTML unescaped), and, with `declared`, a variable the template's
 * sends never carry. Lines are the field's own.
 */
export function checkHandlebars(field: TemplateField, source: string, declared: string[] | undefined, html: boolean): HandlebarsReport {
  const problems: TemplateProblem[] = [];
  const variables = new Set<string>();
  let program: { body: Node[] };
  try {
    program = Handlebars.parse(source) as unknown as { body: Node[] };
  } catch (error) {
    const message = (error as Error).message;
    const line = Number(/on line (\d+)/.exec(message)?.[1] ?? /line (\d+)/.exec(message)?.[1] ?? 1);
    const detail = message.split('\n').filter((part) => part.trim() !== '' && !/^-*\^$/.test(part.trim()));
    const unclosed = message.includes("got 'EOF'") ? 'a {{#…}} block is not closed: add its {{/…}}' : undefined;
    return { variables: [], problems: [{ field, line, code: 'syntax', message: `The {{…}} syntax is broken: ${unclosed ?? detail[detail.length - 1] ?? message}` }] };
  }
  const refuse = (node: { loc: Location }, code: TemplateProblem['code'], message: string) => problems.push({ field, line: node.loc.start.line, code, message });
  const checkPath = (path: PathNode, scoped: boolean) => {
    const segments = path.original.split(/[./]/).filter((segment) => segment !== '' && segment !== 'this' && segment !== '..');
    const prototypeKey = [...path.parts, ...segments].find((part) => PROTOTYPE_KEYS.has(part.replace(/^\[|\]$/g, '')));
    if (prototypeKey) {
      refuse(path, 'prototype-access', `"{{${path.original}}}" reads "${prototypeKey}", which leads to prototypes, not to a value; use a variable of the template.`);
      return;
    }
    if (path.data || scoped || path.depth > 0 || path.parts.length === 0) return;
    const variable = variableOf(path);
    variables.add(variable);
    if (declared && !declared.includes(variable)) {
      refuse(path, 'unknown-variable', `"{{${path.original}}}" is not a variable of this template; it can use ${declared.join(', ')}.`);
    }
  };
  const walk = (nodes: Node[], scoped: boolean): void => {
    for (const node of nodes) {
      switch (node.type) {
        case 'ContentStatement':
        case 'CommentStatement':
          break;
        case 'MustacheStatement': {
          const path = node.path as PathNode;
          if (path.type !== 'PathExpression' || node.params?.length || node.hash) {
            refuse(node, 'unsupported-construct', 'Only variables ({{name}}) and the blocks if, unless, each and with can be used; helpers cannot be called.');
            break;
          }
          checkPath(path, scoped);
          const brand = path.parts[0] === 'brand' && !scoped;
          if (html && node.escaped === false && !brand) {
            refuse(node, 'unescaped-variable', `"{{{${path.original}}}}" would put user data into the HTML unescaped; use {{${path.original}}}.`);
          }
          break;
        }
        case 'BlockStatement': {
          const helper = node.path as PathNode;
          const param = node.params?.[0] as PathNode | undefined;
          if (helper.type !== 'PathExpression' || !BLOCK_HELPERS.has(helper.original) || node.params?.length !== 1 || param?.type !== 'PathExpression' || node.hash) {
            refuse(node, 'unsupported-construct', 'Only the blocks {{#if x}}, {{#unless x}}, {{#each x}} and {{#with x}} can be used, each with one variable.');
            break;
          }
          checkPath(param, scoped);
          walk(node.program?.body ?? [], scoped || SCOPING_HELPERS.has(helper.original));
          walk(node.inverse?.body ?? [], scoped);
          break;
        }
        default:
          refuse(node, 'unsupported-construct', `A ${node.type.replace(/Statement|Block/g, '').toLowerCase() || 'construct'} ({{> …}}, {{* …}}) cannot be used in a template; write its content out.`);
      }
    }
  };
  walk(program.body, false);
  return { variables: [...variables], problems };
}
