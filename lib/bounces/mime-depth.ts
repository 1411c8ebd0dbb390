const BOUNDARY_PARAMETER = /\bboundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))/gi;

/**
 * Whether multiparts nest deeper than `limit`, measured in one pass before any parsing: every
 * `boundary=` parameter declares a boundary, a `--boundary` line opens (or continues) its multipart
 * inside the ones open, `--boundary--` closes it and any left open within it. The returned original
 * is counted in, since its delimiters are lines of the report like any other.
 */
export function mimeDepthExceeds(source: string, limit: number): boolean {
  const declared = new Set<string>();
  for (const match of source.matchAll(BOUNDARY_PARAMETER)) declared.add(match[1] ?? match[2]);
  if (declared.size <= limit) return false;
  const open: string[] = [];
  let from = 0;
  while (from < source.length) {
    const end = source.indexOf('\n', from);
    const line = source.slice(from, end === -1 ? source.length : end).trimEnd();
    from = end === -1 ? source.length : end + 1;
    if (!line.startsWith('--')) continue;
    const delimited = line.slice(2);
    const closing = !declared.has(delimited) && delimited.endsWith('--') && declared.has(delimited.slice(0, -2));
    const boundary = closing ? delimited.slice(0, -2) : delimited;
    if (!declared.has(boundary)) continue;
    const at = open.lastIndexOf(boundary);
    if (closing) {
      if (at >= 0) open.length = at;
    } else if (at >= 0) {
      open.length = at + 1;
    } else if (open.push(boundary) > limit) {
      return true;
    }
  }
  return false;
}
