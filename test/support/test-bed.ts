import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, SmtpTransportOptions } from 'nestjs-email-workflow';
import { localOptions } from './module-options';
import { SmtpSink, SmtpSinkOptions } from './smtp-sink';

/** Keeps every SMTP sink and module a test file starts, and closes them all at the end. */
export class TestBed {
  private readonly modules: TestingModule[] = [];
  private readonly sinks: SmtpSink[] = [];

  async sink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
    return this.track(await SmtpSink.start(options));
  }

  track(sink: SmtpSink): SmtpSink {
    this.sinks.push(sink);
    return sink;
  }

  /** A started module (in-process queue) sending through `transport`. */
  async boot(transport: SmtpTransportOptions): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(0, { transport }))],
    }).compile();
    this.modules.push(moduleRef);
    await moduleRef.init();
    return moduleRef;
  }

  async close(): Promise<void> {
    await Promise.all(this.modules.map((moduleRef) => moduleRef.close()));
    await Promise.all(this.sinks.map((sink) => sink.close()));
  }
}
