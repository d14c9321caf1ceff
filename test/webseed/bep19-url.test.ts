/** BEP 19 URL rules: single-file and multi-file torrents, folders, encoding, query strings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeComponent, fileUrl, parseWebSeedUrl } from '../../src/webseed/url.js';
import { WebSeedError } from '../../src/webseed/errors.js';

const u = (s: string): URL => parseWebSeedUrl(s);

test('single-file: the URL is the file, unless it ends in / (then the name is appended)', () => {
  assert.equal(fileUrl(u('http://h/pub/linux.iso'), false, 'other.iso', []).href, 'http://h/pub/linux.iso');
  assert.equal(fileUrl(u('http://h/pub/'), false, 'linux.iso', []).href, 'http://h/pub/linux.iso');
  assert.equal(fileUrl(u('http://h/'), false, Buffer.from('a b.iso'), []).href, 'http://h/a%20b.iso');
});

test('multi-file: URL + name + / + path components, a missing final / added', () => {
  const path = [Buffer.from('sub dir'), Buffer.from('f#1?.txt')];
  assert.equal(fileUrl(u('http://h/mirror/'), true, 'Album', path).href, 'http://h/mirror/Album/sub%20dir/f%231%3F.txt');
  assert.equal(fileUrl(u('http://h/mirror'), true, 'Album', path).href, 'http://h/mirror/Album/sub%20dir/f%231%3F.txt');
  assert.equal(fileUrl(u('https://h:8443/'), true, 'a', ['b']).href, 'https://h:8443/a/b');
});

test('every byte outside the unreserved set is percent-encoded, UTF-8 and raw bytes alike', () => {
  assert.equal(encodeComponent('é/%'), '%C3%A9%2F%25');
  assert.equal(encodeComponent(Buffer.from([0xff, 0x41, 0x2e, 0x7e])), '%FFA.~');
  for (const bad of ['', '.', '..']) assert.throws(() => encodeComponent(bad), (e: unknown) => e instanceof WebSeedError && e.code === 'webseed-bad-url');
});

test('a query string stays on the URL, after the appended path; a fragment is dropped', () => {
  assert.equal(fileUrl(u('http://h/dl/?token=1#x'), true, 'n', ['f']).href, 'http://h/dl/n/f?token=1');
});

test('only http and https, without credentials', () => {
  for (const bad of ['ftp://h/x', 'not a url', 'http://user:pw@h/x', 'file:///etc/passwd']) {
    assert.throws(() => parseWebSeedUrl(bad), (e: unknown) => e instanceof WebSeedError && e.code === 'webseed-bad-url');
  }
});
