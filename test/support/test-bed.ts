import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, SmtpTransportOptions } from 'nestjs-email-workflow';
import { CapturingLogger } from './capturing-logger';
import { localOptions } from './module-options';
import { SmtpSink, SmtpSinkOptions } from './smtp-sink';

/** Keeps every SMTP sink and module a test file starts, and closes them all at the end. */
export class TestBed {
  /** What every module of the bed logged: expected errors land here instead of the test output. */
  readonly logger = new CapturingLogger();
  private readonly modules: TestingModule[] = [];
  private readonly sinks: SmtpSink[] = [];

  async sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    return this.track(await SmtpSink.start(options));
  }

  track(sink: SmtpSink): SmtpSink {
    this.sinks.push(sink);
    return sink;
  }

  /** A started module (in-process queue) sending through `transport`, logging to `logger`. */
  async boot(transport: SmtpTransportOptions): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(0, { transport }))],
    })
      .setLogger(this.logger)
      .compile();
    this.modules.push(moduleRef);
    await moduleRef.init();
    return moduleRef;
  }

  async close(): Promise<void> {
    await Promise.all(this.modules.map((moduleRef) => moduleRef.close()));
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }
}
