/**
 * A tracer for tests that keeps every span it is given: its name, W3C-shaped ids, its parent, attributes, events and
 * whether it ended.
 */
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

export interface RecordedSpan {
  readonly name: string
  readonly spanId: string
  readonly traceId: string
  readonly parentId: string | undefined
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> }>
  ended: boolean
}

export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c"

export const recordingTracer = (spans: Array<RecordedSpan>): Tracer.Tracer =>
  Tracer.make({
    context: (f) => f(),
    span: (name, parent, context, links, _startTime, kind) => {
      const spanId = (spans.length + 1).toString(16).padStart(16, "0")
      const recorded: RecordedSpan = {
        name,
        spanId,
        traceId: TRACE_ID,
        parentId: Option.getOrUndefined(Option.map(parent, (p) => p.spanId)),
        attributes: new Map(),
        events: [],
        ended: false
      }
      spans.push(recorded)
      return {
        _tag: "Span",
        name,
        spanId,
        traceId: TRACE_ID,
        parent,
        context,
        status: { _tag: "Started", startTime: 0n },
        attributes: recorded.attributes,
        links,
        sampled: true,
        kind,
        end: () => {
          recorded.ended = true
        },
        attribute: (key, value) => {
          recorded.attributes.set(key, value)
        },
        event: (eventName, _time, attributes) => {
          recorded.events.push({ name: eventName, attributes: attributes ?? {} })
        },
        addLinks: () => {}
      }
    }
  })
