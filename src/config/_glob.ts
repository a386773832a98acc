// A small glob: `*` and `?` within a path segment, `**` across segments,
// `[abc]` / `[!abc]` classes and `{a,b}` alternatives, over absolute paths
// with `/` separators. Matching files are found by walking the folder before
// the first segment with a wildcard.

const SPECIAL = /[*?[\]{}]/;

/** The folder a glob walks: its segments before the first with a wildcard. */
export function globBase(pattern: string): string {
  const segments = pattern.replaceAll("\\", "/").split("/");
  const first = segments.findIndex((s) => SPECIAL.test(s));
  if (first === -1) return segments.slice(0, -1).join("/") || "/";
  return segments.slice(0, first).join("/") || "/";
}

/**
 * A regular expression for the whole path a glob matches.
 *
 * @throws {SyntaxError} For a glob that means nothing: a class such as
 * `[z-a]` that is out of order, or a `{` without its `}`.
 */
export function globToRegExp(pattern: string): RegExp {
  let out = "";
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      out += slash ? "(?:[^/]*/)*" : ".*";
      i += slash ? 2 : 1;
    } else if (ch === "*") {
      out += "[^/]*";
    } else if (ch === "?") {
      out += "[^/]";
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) {
        out += "\\[";
        continue;
      }
      const body = pattern.slice(i + 1, end).replace(/^!/, "^").replaceAll("\\", "\\\\");
      try {
        new RegExp(`[${body}]`);
      } catch (error) {
        const why = (error as Error).message.replace(/^.*: /, "").toLowerCase();
        throw new SyntaxError(`${pattern.slice(i, end + 1)} is not a class of characters: ${why}`);
      }
      out += `[${body}]`;
      i = end;
    } else if (ch === "{") {
      braces++;
      out += "(?:";
    } else if (ch === "}" && braces > 0) {
      braces--;
      out += ")";
    } else if (ch === "," && braces > 0) {
      out += "|";
    } else {
      out += ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
  }
  if (braces > 0) throw new SyntaxError(`a { has no } to close it`);
  try {
    return new RegExp(`^${out}$`);
  } catch (error) {
    throw new SyntaxError((error as Error).message);
  }
}

/** The files whose absolute paths match `pattern`, sorted. */
export async function glob(pattern: string): Promise<string[]> {
  pattern = pattern.replaceAll("\\", "/");
  const base = globBase(pattern);
  const regexp = globToRegExp(pattern);
  const rest = pattern.slice(base.length).split("/").filter((s) => s !== "");
  const maxDepth = rest.some((s) => s.includes("**")) ? Infinity : rest.length;
  const found: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    const entries: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(folder)) entries.push(entry);
    for (const entry of entries) {
      const path = folder === "/" ? `/${entry.name}` : `${folder}/${entry.name}`;
      // A link to a file counts as a file; links to folders are not followed.
      const isFile = entry.isFile ||
        (entry.isSymlink && (await Deno.stat(path).catch(() => undefined))?.isFile === true);
      if (isFile && regexp.test(path)) found.push(path);
      else if (entry.isDirectory && depth + 1 < maxDepth) await walk(path, depth + 1);
    }
  };
  await walk(base, 0);
  return found.sort();
}
