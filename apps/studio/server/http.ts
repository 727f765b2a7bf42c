import type { NextApiRequest, NextApiResponse } from "next";

const MAX_BODY_BYTES = 64 * 1024;
/** Beyond this a too-large body is not read to its end: the connection is dropped. */
const MAX_DRAIN_BYTES = 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: NextApiResponse, status: number, body: unknown): void {
  res.status(status).setHeader("cache-control", "no-store").json(body);
}

export function requireMethod(
  req: NextApiRequest,
  res: NextApiResponse,
  method: "GET" | "POST",
): boolean {
  if (req.method === method || (method === "GET" && req.method === "HEAD")) return true;
  res.setHeader("allow", method);
  sendJson(res, 405, { error: `Use ${method}.` });
  return false;
}

/**
 * The request body as JSON, whatever the content type says: deploy scripts send JSON with
 * `curl -d`, which labels it `application/x-www-form-urlencoded` (SPEC §5). Routes that read it
 * turn Next's body parser off so the raw text is available.
 */
export async function readJsonBody(req: NextApiRequest): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    // Leaving the loop early destroys the request, and the client sees a reset connection
    // instead of the 413: read (and drop) a moderately larger body to its end first.
    if (size > MAX_DRAIN_BYTES) break;
    if (size <= MAX_BODY_BYTES) chunks.push(buffer);
  }
  if (size > MAX_BODY_BYTES) throw new HttpError(413, "Request body too large.");
  const text = Buffer.concat(chunks).toString("utf8");
  // No body at all is no options; whitespace alone is a body, and not JSON.
  if (text === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "The request body is not valid JSON.");
  }
}
