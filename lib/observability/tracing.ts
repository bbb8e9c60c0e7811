/**
 * The slice of OpenTelemetry's `Tracer` (from `@opentelemetry/api`) redis-transact uses. Typed
 * structurally so the library needs no OpenTelemetry package; pass
 * `trace.getTracer('redis-transact')` as the `tracer` option.
 */
export interface TracerLike {
  startSpan(name: string, options?: { kind?: number; attributes?: Record<string, string | number | boolean> }): SpanLike;
}

/** The slice of OpenTelemetry's `Span` redis-transact uses. */
export interface SpanLike {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error): unknown;
  end(): void;
}

/** OpenTelemetry's SpanKind.CLIENT and SpanStatusCode.ERROR (the numbers are part of its API). */
const SPAN_KIND_CLIENT = 2;
const STATUS_ERROR = 2;

/**
 * Runs one transaction inside a span when a tracer is configured; without one, this is a single
 * `undefined` check per call (`attributes` are only made for a span).
 * @internal
 */
export function traced<T>(
  tracer: TracerLike | undefined,
  attributes: () => Record<string, string | number | boolean>,
  run: () => Promise<T & { attempts: number }>,
  failed: (error: unknown) => void,
): Promise<T & { attempts: number }> {
  // Not an async function: that would wrap every untraced call's promise in one more.
  return tracer ? inSpan(tracer, attributes(), run, failed) : run();
}

async function inSpan<T>(
  tracer: TracerLike,
  attributes: Record<string, string | number | boolean>,
  run: () => Promise<T & { attempts: number }>,
  failed: (error: unknown) => void,
): Promise<T & { attempts: number }> {
  // The tracer observes, like a hook: whatever its spans throw never changes the call's outcome.
  const guarded = (use: () => unknown) => {
    try {
      use();
    } catch (err) {
      failed(err);
    }
  };
  let span: SpanLike | undefined;
  guarded(() => (span = tracer.startSpan('redis-transact transact', { kind: SPAN_KIND_CLIENT, attributes: { 'db.system': 'redis', ...attributes } })));
  try {
    const result = await run();
    guarded(() => span?.setAttribute('redis_transact.attempts', result.attempts));
    return result;
  } catch (err) {
    guarded(() => span?.recordException(err as Error));
    guarded(() => span?.setStatus({ code: STATUS_ERROR, message: (err as Error).message }));
    throw err;
  } finally {
    guarded(() => span?.end());
  }
}
