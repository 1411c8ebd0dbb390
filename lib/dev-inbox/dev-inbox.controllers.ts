import { Body, Controller, Get, Header, Headers, HttpCode, Inject, Param, Post, Res, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EmailTemplates, TemplateRegistry } from '../templates';
import { EmailWorkflowService } from '../workflow';
import { emailFrameDocument, emailPage, EMAIL_FRAME_SANDBOX, inboxPage, templatesPage, templatesUnavailablePage } from './dev-inbox.pages';
import type { ResolvedDevInboxOptions } from './dev-inbox.options';
import { HtmlPage, navFrom, routeOf } from './dev-inbox.routes';
import type { PageResponse } from './dev-inbox.routes';
import { LIVE_VERSION_HEADER } from './dev-inbox.script';
import { DevInbox } from './dev-inbox.service';
import type { CaughtEmail } from './dev-inbox.types';
import { checksOfEmails, checksOfPreviews } from './email-checks';
import { checksCell, emailChecksSection, previewChecksSection } from './findings.page';
import { missingEmailPage, missingFrameDocument } from './missing.page';
import { draftFormOf, draftPreviewPage } from './draft-preview.page';

/**
 * The last segment of a route (`/dev/inbox` → `inbox`). Pages link relative to themselves with it,
 * so the links still work under an app's global prefix.
 */
function lastSegment(path: string): string {
  return path.split('/').filter(Boolean).pop() ?? '';
}

/** The inbox controller, mounted at `paths.inboxPath`; a fresh class per call, since a controller's route is fixed on its class. */
export function createInboxController(paths: ResolvedDevInboxOptions): Type<unknown> {
  const path = paths.inboxPath;
  const inboxSegment = lastSegment(path);

  @Controller(path)
  class DevInboxController {
    constructor(
      @Inject(DevInbox) private readonly inbox: DevInbox,
      @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    ) {}

    @Get()
    @HtmlPage()
    async list(@Headers(LIVE_VERSION_HEADER) shown: unknown, @Res({ passthrough: true }) response: PageResponse): Promise<string> {
      const version = this.inbox.version;
      // The open page's poll: nothing changed, so no body and no checks to run.
      if (shown === String(version)) {
        response.status(204);
        return '';
      }
      // Relative to `{path}`: the browser resolves it against the parent of the last segment.
      const href = (id: string) => `${inboxSegment ? `${inboxSegment}/` : ''}${encodeURIComponent(id)}`;
      const emails = this.inbox.messages();
      const checks = await checksOfEmails(this.moduleRef, emails);
      return inboxPage(emails, href, navFrom(path, paths, 'inbox'), (email) => checksCell(checks.get(email.id), href(email.id)), version);
    }

    @Get(':id')
    @HtmlPage()
    async show(@Param('id') id: string, @Res({ passthrough: true }) response: PageResponse): Promise<string> {
      // Relative to `{path}/{id}`.
      const nav = navFrom(`${routeOf(path)}/${encodeURIComponent(id)}`, paths, 'inbox');
      const inbox = inboxSegment ? `../${inboxSegment}` : './';
      const email = this.find(id);
      if (!email) return missingEmailPage(response, id, { inbox }, nav);
      const checks = (await checksOfEmails(this.moduleRef, [email])).get(email.id);
      return emailPage(email, { inbox, html: `${encodeURIComponent(id)}/html` }, nav, emailChecksSection(checks));
    }

    /** The HTML part alone, for the detail page's frame. The CSP sandboxes it even when opened directly. */
    @Get(':id/html')
    @HtmlPage()
    @Header('content-security-policy', `sandbox ${EMAIL_FRAME_SANDBOX}`)
    html(@Param('id') id: string, @Res({ passthrough: true }) response: PageResponse): string {
      const email = this.find(id);
      if (!email) return missingFrameDocument(response, 'No caught email has this id: it was cleared, dropped beyond maxMessages, or caught before a restart.');
      if (email.html === undefined) return missingFrameDocument(response, 'This email has no HTML part.');
      return emailFrameDocument(email.html);
    }

    private find(id: string): CaughtEmail | undefined {
      return this.inbox.messages().find((caught) => caught.id === id);
    }
  }
  return DevInboxController;
}

const NO_WORKFLOW = 'EmailWorkflowModule is not imported in this app, so there are no templates to preview. Import it beside EmailDevInboxModule.';

/** The template previews controller, mounted at `paths.templatesPath`. */
export function createTemplatesController(paths: ResolvedDevInboxOptions): Type<unknown> {
  const nav = navFrom(paths.templatesPath, paths, 'templates');
  const draftNav = navFrom(`${routeOf(paths.templatesPath)}/draft`, paths, 'templates');
  // Relative to `{templatesPath}`, as the inbox links its emails.
  const draftHref = `${lastSegment(paths.templatesPath) ? `${lastSegment(paths.templatesPath)}/` : ''}draft`;

  @Controller(paths.templatesPath)
  class DevTemplatesController {
    constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

    @Get()
    @HtmlPage()
    async list(): Promise<string> {
      // Looked up per request, so the dev inbox does not have to import EmailWorkflowModule.
      let workflow: EmailWorkflowService;
      try {
        workflow = this.moduleRef.get(EmailWorkflowService, { strict: false });
      } catch {
        return templatesUnavailablePage('EmailWorkflowModule is not imported in this app, so there are no templates to preview. Import it beside EmailDevInboxModule.', nav);
      }
      try {
        const previews = await workflow.previewTemplates();
        const checks = await checksOfPreviews(this.moduleRef, previews);
        return templatesPage(
          previews,
          nav,
          {
            everyMessage: previewChecksSection(checks.everyMessage, 'Message checks of every message'),
            of: (preview) => previewChecksSection(checks.of(preview)),
          },
          draftHref,
        );
      } catch (error) {
        return templatesUnavailablePage((error as Error).message, nav);
      }
    }

    /** A form to paste a stored template's draft into. */
    @Get('draft')
    @HtmlPage()
    draftForm(): string {
      const templates = this.templates();
      return templates ? draftPreviewPage(draftNav, this.names()) : templatesUnavailablePage(NO_WORKFLOW, draftNav);
    }

    /** The posted draft, checked and rendered as EmailTemplates.preview does: nothing is stored. */
    @Post('draft')
    // A page, not a redirect to one: the draft lives only in this response.
    @HttpCode(200)
    @HtmlPage()
    async draftPreview(@Body() posted: unknown): Promise<string> {
      const templates = this.templates();
      if (!templates) return templatesUnavailablePage(NO_WORKFLOW, draftNav);
      const form = draftFormOf(posted);
      const result = await templates.preview({ name: form.name, locale: form.locale, subject: form.subject, [form.format]: form.body });
      return draftPreviewPage(draftNav, this.names(), { form, result });
    }

    private templates(): EmailTemplates | undefined {
      try {
        return this.moduleRef.get(EmailTemplates, { strict: false });
      } catch {
        return undefined;
      }
    }

    private names(): string[] {
      try {
        return this.moduleRef.get(TemplateRegistry, { strict: false }).names();
      } catch {
        return [];
      }
    }
  }
  return DevTemplatesController;
}
