import { readdirSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MessageComposer, checkTemplateMessages } from '../delivery';
import type { HtmlEncoding } from '../delivery';
import { previewTemplates, sampleContextFor, TemplateRegistry, resolveTemplateOptions } from '../templates';
import type { TemplateFinding } from '../templates';
import { isValidMailbox, mailboxAddress } from '../transport';
import { CliUsageError } from './usage.error';

export const CHECK_TEMPLATES_USAGE = `  nestjs-email-workflow check-templates [--dir ./templates] [--from "Acme <no-reply@acme.com>"] [--dkim-domain acme.com]
                                        [--html-encoding base64|quoted-printable]
      Renders every template with sample data (the built-ins, and the .mjml files of --dir: your templates.dir,
      which replace same-named built-ins as in the app) and checks each message as it would be sent: HTML size
      (Gmail clips at 102 KB), text part, https links, image alt text, Message-ID and Date, and with --dkim-domain
      whether the From domain aligns with it. Exits 1 when it finds a problem, 0 when every template passes.`;

const DEFAULT_FROM = 'Acme <no-reply@example.com>';
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\.?$/i;

/** The templates folder `--dir` names, checked: it exists, is a folder, and holds templates. */
function templatesDir(dir: string): string {
  const path = resolve(dir);
  let isFolder: boolean;
  try {
    isFolder = statSync(path).isDirectory();
  } catch (error) {
    throw new CliUsageError(`--dir ${dir} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): point it at your templates.dir, e.g. --dir ./src/emails.`);
  }
  if (!isFolder) throw new CliUsageError(`--dir ${dir} is a file, not a folder: point it at the folder your templates.dir names.`);
  if (!readdirSync(path).some((entry) => !entry.startsWith('_') && entry.endsWith('.mjml'))) {
    throw new CliUsageError(`--dir ${dir} holds no templates (name.mjml or name.<locale>.mjml files): point it at the folder your templates.dir names.`);
  }
  return path;
}

function htmlEncodingOf(value: string | undefined): HtmlEncoding {
  if (value === undefined || value === 'base64' || value === 'quoted-printable') return value ?? 'base64';
  throw new CliUsageError(`--html-encoding must be base64 or quoted-printable (your htmlEncoding option), not "${value}".`);
}

/** `welcome (fr)`, `welcome`, `every message`. */
function titleOf(finding: TemplateFinding): string {
  if (finding.template === '*') return 'every message';
  return finding.locale ? `${finding.template} (${finding.locale})` : finding.template;
}

function print(findings: TemplateFinding[], checked: { total: number; custom: number; dir?: string; from: string; encoding: HtmlEncoding }): void {
  const where = checked.dir ? `${checked.custom} from ${relative(process.cwd(), checked.dir) || '.'}, ${checked.total - checked.custom} built-in` : 'the built-ins';
  console.log(`Checked ${checked.total} templates and locales (${where}) as sent from ${checked.from}, HTML ${checked.encoding}-encoded.\n`);
  for (const finding of findings) {
    const file = finding.file && checked.dir && resolve(finding.file).startsWith(checked.dir) ? `  ${relative(process.cwd(), finding.file)}` : '';
    console.log(`⚠ ${titleOf(finding)} · ${finding.check}${file}`);
    console.log(`    ${finding.message}`);
    console.log(`    Fix: ${finding.fix}`);
  }
  if (findings.length === 0) {
    console.log('✓ No problems: every template passes the message checks.');
    return;
  }
  const perTemplate = findings.filter((finding) => finding.template !== '*');
  const templates = new Set(perTemplate.map((finding) => `${finding.template}.${finding.locale}`)).size;
  const counts = [
    perTemplate.length > 0 ? `${perTemplate.length} in ${templates === 1 ? '1 template' : `${templates} templates`}` : '',
    perTemplate.length < findings.length ? `${findings.length - perTemplate.length} about every message` : '',
  ].filter(Boolean);
  console.log(`\n✗ ${findings.length} problem${findings.length === 1 ? '' : 's'}: ${counts.join(', ')}.`);
}

/** `check-templates`: exit 0 when every template passes, 1 when a check finds a problem (2, by main, for a usage error). */
export async function checkTemplatesCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      dir: { type: 'string' },
      from: { type: 'string' },
      'dkim-domain': { type: 'string' },
      'html-encoding': { type: 'string' },
    },
  });
  const dir = values.dir === undefined ? undefined : templatesDir(values.dir);
  const from = values.from ?? DEFAULT_FROM;
  if (!isValidMailbox(from)) throw new CliUsageError(`--from "${from}" is not an address: use your from option, e.g. --from "Acme <no-reply@acme.com>".`);
  const dkimDomain = values['dkim-domain'];
  if (dkimDomain !== undefined && !DOMAIN.test(dkimDomain)) throw new CliUsageError(`--dkim-domain "${dkimDomain}" is not a domain name: use your dkim.domainName, e.g. acme.com.`);
  const htmlEncoding = htmlEncodingOf(values['html-encoding']);
  const senderAddress = mailboxAddress(from);
  const name = from.includes('<') ? from.slice(0, from.indexOf('<')).replace(/"/g, '').trim() : '';
  const resolved = resolveTemplateOptions({ brand: { name: name || 'Acme', supportEmail: 'support@example.com' }, templates: { dir } });
  if (!resolved.ok) throw new CliUsageError(resolved.problems.map((problem) => `${problem.path} ${problem.problem}. Fix: ${problem.fix}`).join('\n'));
  const { registry, brand } = resolved.value;
  // The composer as the app builds it; the built-ins are enough for its registry, since the previews render the templates.
  const composer = new MessageComposer(await TemplateRegistry.load({ ...registry, customDir: undefined }), { from, htmlEncoding, senderAddress, brand });
  const previews = await previewTemplates(registry, (template) => sampleContextFor(template, { ...brand }));
  const findings = await checkTemplateMessages(previews, { composer, dkimDomain });
  print(findings, { total: previews.length, custom: previews.filter((preview) => !preview.builtIn).length, dir, from: senderAddress, encoding: htmlEncoding });
  return findings.length > 0 ? 1 : 0;
}
