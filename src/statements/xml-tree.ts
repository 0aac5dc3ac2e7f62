import { SaxesParser } from 'saxes';

/** A small element tree of one part of a large XML file (local names: prefixes dropped). */
export type XmlNode = { name: string; attributes: Record<string, string>; text: string; children: XmlNode[] };

/** Shared by every element without attributes (most of them), never written to. */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

export function child(node: XmlNode | undefined, ...path: string[]): XmlNode | undefined {
  let current = node;
  for (const name of path) {
    current = current?.children.find((c) => c.name === name);
    if (!current) return undefined;
  }
  return current;
}

export function childrenNamed(node: XmlNode | undefined, name: string): XmlNode[] {
  return node ? node.children.filter((c) => c.name === name) : [];
}

/** The trimmed text at a path, or undefined when absent or empty. */
export function textAt(node: XmlNode | undefined, ...path: string[]): string | undefined {
  const text = child(node, ...path)?.text.trim();
  return text ? text : undefined;
}

/**
 * Streams an XML document and hands over, one at a time, every element whose local name is in
 * `collect` (with its subtree), plus every other element's path as it opens (for the few header
 * fields a reader needs). Namespaces are ignored: elements are known by their local names, so
 * every version of a schema reads alike. Memory holds one collected element at a time.
 */
export function createXmlStream(options: {
  collect: ReadonlySet<string>;
  /** Maximum nesting depth, so a hostile file cannot exhaust the stack or memory. */
  maxDepth?: number;
  onElement(node: XmlNode, ancestors: readonly string[]): void;
  onOpen?(name: string, ancestors: readonly string[]): void;
  /** Text of an element outside collected subtrees, once it closes. */
  onText?(name: string, text: string, ancestors: readonly string[]): void;
}): { write(text: string): void; close(): void } {
  const maxDepth = options.maxDepth ?? 64;
  const parser = new SaxesParser({ xmlns: false, position: false });
  const path: string[] = [];
  const outsideText: string[] = [];
  let building: XmlNode[] = [];
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => {
    const name = localName(tag.name);
    if (path.length >= maxDepth) throw new Error(`elements nested deeper than ${maxDepth} levels`);
    if (building.length > 0 || options.collect.has(name)) {
      let attributes: Record<string, string> = NO_ATTRIBUTES;
      for (const key in tag.attributes) {
        if (attributes === NO_ATTRIBUTES) attributes = {};
        attributes[localName(key)] = String(tag.attributes[key]);
      }
      const node: XmlNode = { name, attributes, text: '', children: [] };
      building.at(-1)?.children.push(node);
      building.push(node);
    } else {
      options.onOpen?.(name, path);
      outsideText.push('');
    }
    path.push(name);
  });
  parser.on('text', (text) => {
    const node = building.at(-1);
    if (node) node.text += text;
    else if (outsideText.length > 0) outsideText[outsideText.length - 1] += text;
  });
  parser.on('cdata', (text) => {
    const node = building.at(-1);
    if (node) node.text += text;
  });
  parser.on('closetag', () => {
    const name = path.pop() ?? '';
    if (building.length > 0) {
      const node = building.pop() as XmlNode;
      if (building.length === 0) {
        options.onElement(node, path);
        building = [];
      }
      return;
    }
    const text = outsideText.pop() ?? '';
    options.onText?.(name, text.trim(), path);
  });
  const check = () => {
    if (failure) throw failure;
  };
  return {
    write(text) {
      parser.write(text);
      check();
    },
    close() {
      parser.close();
      check();
    },
  };
}
