// `pull` built from a provider's SplitPull: the one code path whether pages are decoded on this
// thread (tests, in-process) or handed to decoder threads (core/pull-worker.ts).

import { MalformedBodyError } from "../errors.js";
import type { DecodedPage, Page, PullRequest, RawPage, SplitPull } from "./provider.js";

/** Decodes a fetched page; a body that does not parse is fetched once more (SPEC §5.3). */
export async function decodeWithRetry(split: SplitPull, raw: RawPage, request: PullRequest): Promise<Page> {
  try {
    return whole(split.decodePage(raw, request));
  } catch (err) {
    if (!(err instanceof MalformedBodyError)) throw err;
  }
  return decodeAgain(split, raw, request);
}

/** The retry half: fetches the page once more and decodes it (its own token is not checked). */
export async function decodeAgain(split: SplitPull, raw: RawPage, request: PullRequest): Promise<Page> {
  return whole(split.decodePage({ body: await raw.refetch() }, request));
}

/** Every record read (and so every parse error thrown) here. */
function whole(page: DecodedPage): Page {
  return { records: Array.isArray(page.records) ? page.records : [...page.records] };
}

export async function* pullBySplit(split: SplitPull, request: PullRequest): AsyncIterable<Page> {
  for await (const raw of split.fetchPages(request)) yield await decodeWithRetry(split, raw, request);
}
