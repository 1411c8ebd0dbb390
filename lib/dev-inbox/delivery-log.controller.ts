import { Controller, Get, Inject, Query, Res, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EmailDeliveryLog } from '../delivery-log';
import type { DeliveryRecord } from '../delivery-log';
import { DeliveryLogLinks, deliveryLogPage, deliveryLogUnavailablePage, deliveryRecordMissingPage, deliveryRecordPage } from './delivery-log.page';
import type { ResolvedDevInboxOptions } from './dev-inbox.options';
import { HtmlPage, hrefFrom, navFrom, routeOf } from './dev-inbox.routes';
import type { PageResponse } from './dev-inbox.routes';
import { DevInbox } from './dev-inbox.service';

/** Emails the list shows, unfiltered or for one address. */
const LISTED = 100;
const NO_WORKFLOW = 'EmailWorkflowModule is not imported in this app, so no email is logged. Import it beside EmailDevInboxModule.';

/**
 * The delivery log controller, mounted at `paths.deliveryLogPath`: the list (`?to=` searches one address)
 * and one email's timeline at `email?id=<Message-ID>`. The Message-ID goes in the query, not the path: it
 * holds `@`, `<`, `>` and an app's domain, and Fastify refuses path parameters over 100 characters.
 */
export function createDeliveryLogController(paths: ResolvedDevInboxOptions): Type<unknown> {
  const listRoute = routeOf(paths.deliveryLogPath);
  const recordRoute = `${listRoute}/email`;
  /** Links from the page at `from`. */
  const linksFrom = (from: string): DeliveryLogLinks => ({
    list: hrefFrom(from, listRoute),
    record: (messageId) => `${hrefFrom(from, recordRoute)}?id=${encodeURIComponent(messageId)}`,
    search: (to) => `${hrefFrom(from, listRoute)}?to=${encodeURIComponent(to)}`,
  });

  @Controller(paths.deliveryLogPath)
  class DevDeliveryLogController {
    constructor(
      @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
      @Inject(DevInbox) private readonly inbox: DevInbox,
    ) {}

    @Get()
    @HtmlPage()
    async list(@Query('to') to: unknown, @Res({ passthrough: true }) response: PageResponse): Promise<string> {
      const nav = navFrom(listRoute, paths, 'delivery-log');
      const log = this.log();
      if (log === undefined) return deliveryLogUnavailablePage(NO_WORKFLOW, nav);
      const links = linksFrom(listRoute);
      const searched = typeof to === 'string' ? to.trim() : undefined;
      if (to !== undefined && (searched === undefined || (searched !== '' && !searched.includes('@')))) {
        response.status(400);
        const problem = searched === undefined ? 'Search one address at a time.' : `“${searched}” is not an email address: enter one, e.g. ada@example.com.`;
        return deliveryLogPage({ records: [], to: searched, problem }, links, nav);
      }
      try {
        const records = searched ? await log.find({ to: searched, limit: LISTED }) : await log.recent(LISTED);
        return deliveryLogPage({ records, to: searched || undefined }, links, nav);
      } catch (error) {
        return deliveryLogUnavailablePage(`The delivery log could not be read: ${(error as Error).message}`, nav);
      }
    }

    @Get('email')
    @HtmlPage()
    async show(@Query('id') id: unknown, @Res({ passthrough: true }) response: PageResponse): Promise<string> {
      const nav = navFrom(recordRoute, paths, 'delivery-log');
      const log = this.log();
      if (log === undefined) return deliveryLogUnavailablePage(NO_WORKFLOW, nav);
      const links = linksFrom(recordRoute);
      const messageId = typeof id === 'string' && id.trim() !== '' ? id.trim() : undefined;
      let record: DeliveryRecord | undefined;
      try {
        record = messageId === undefined ? undefined : await log.get(messageId);
      } catch (error) {
        return deliveryLogUnavailablePage(`The delivery log could not be read: ${(error as Error).message}`, nav);
      }
      if (record === undefined) {
        response.status(404);
        return deliveryRecordMissingPage(messageId, links, nav);
      }
      const caught = this.inbox.messages().find((email) => email.messageId === record.messageId);
      const caughtHref = caught && hrefFrom(recordRoute, `${routeOf(paths.inboxPath)}/${encodeURIComponent(caught.id)}`);
      return deliveryRecordPage(record, { ...links, caught: caughtHref }, nav);
    }

    /** Looked up per request, so the dev inbox does not have to import EmailWorkflowModule. */
    private log(): EmailDeliveryLog | undefined {
      try {
        return this.moduleRef.get(EmailDeliveryLog, { strict: false });
      } catch {
        return undefined;
      }
    }
  }
  return DevDeliveryLogController;
}
