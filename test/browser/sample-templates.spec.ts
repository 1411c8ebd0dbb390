import { Page } from 'playwright-core';
import { EmailWorkflowService } from 'nestjs-email-workflow';
import { SampleInBrowser, sampleInBrowser, screenshots } from './sample-browser';

// The dev inbox's template previews (/dev/templates) of the sample in Chromium: every built-in in its
// five languages, at both widths. Its own file, so it runs beside the flow specs; it takes its time
// (about 45 variants, each shot once its frames are painted), hence the longer test timeout, a bound
// for a hang on a loaded machine rather than a speed target.

describe('sample app template previews in a real browser', () => {
  const bench = sampleInBrowser();
  let sample: SampleInBrowser;
  let page: Page;

  beforeEach(() => {
    ({ sample, page } = bench);
  });

  it('/dev/templates renders every template at both widths with no browser errors, iframes included', async () => {
    const shot = screenshots('dev-templates');
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });

    const previews = await sample.app.get(EmailWorkflowService).previewTemplates();
    expect(previews.map((preview) => preview.name)).toEqual(
      expect.arrayContaining(['password-changed', 'reset-password', 'test-email', 'verify-email', 'welcome']),
    );

    await page.goto(`${sample.base}/dev/templates`, { waitUntil: 'load' });
    const sections = page.getByTestId('template-preview');
    expect(await sections.count()).toBe(previews.length);
    expect(await page.getByTestId('template-error').count()).toBe(0);
    for (const preview of previews) {
      const section = page.locator(`[data-testid="template-preview"][data-template="${preview.name}"][data-locale="${preview.locale}"]`);
      expect(await section.getByTestId('template-subject').textContent()).toBe(preview.rendered?.subject);
      for (const [testId, width] of [['preview-desktop', 600], ['preview-mobile', 375]] as const) {
        const frame = section.getByTestId(testId);
        expect((await frame.boundingBox())?.width).toBeCloseTo(width, 0);
        // The frame's document really rendered the email: its heading and footer are there.
        const body = frame.contentFrame().locator('body');
        expect(((await body.innerText()) ?? '').length).toBeGreaterThan(40);
        expect(await body.innerText()).toContain('Sample App');
      }
    }
    expect(page.frames()).toHaveLength(1 + previews.length * 2);
    // Chromium paints the email frames (out-of-process: they are sandboxed) only near the viewport,
    // so a full-page shot would show the lower ones blank: shoot each template on its own, in a
    // viewport tall enough for a few at a time, pausing only when a scroll brought new ones in.
    await page.setViewportSize({ width: 1100, height: 2800 });
    for (const preview of previews) {
      const section = page.locator(`[data-testid="template-preview"][data-template="${preview.name}"][data-locale="${preview.locale}"]`);
      const box = (await section.boundingBox())!;
      if (box.y < 0 || box.y + box.height > 2800) {
        await section.evaluate((element) => element.scrollIntoView({ block: 'start' }));
        // Give Chromium a moment to paint the frames now in view; only the artifact depends on it.
        await page.waitForTimeout(300);
      }
      await shot(section, preview.name + (preview.locale ? `.${preview.locale}` : ''));
    }
    expect(problems).toEqual([]);
  }, 150_000);
});
