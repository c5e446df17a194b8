/**
 * What the official-SDK interop tests share: poller options that do not wait, draining a paged iterator, and the
 * `RestError` an SDK call is expected to fail with.
 */
import { RestError } from "@azure/core-rest-pipeline"

/** Poller options: poll again at once (the emulator answers immediately). */
export const poll = { intervalInMs: 0 }

/** Every item of an SDK's paged iterator. */
export const collect = async <A>(iterable: AsyncIterable<A>): Promise<Array<A>> => {
  const items: Array<A> = []
  for await (const item of iterable) items.push(item)
  return items
}

/** The `RestError` `promise` fails with; anything else (or success) fails the test. */
export const restError = async (promise: Promise<unknown>): Promise<RestError> => {
  try {
    await promise
  } catch (error) {
    if (error instanceof RestError) return error
    throw error
  }
  throw new Error("expected a RestError")
}
