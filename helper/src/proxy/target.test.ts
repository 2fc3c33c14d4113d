/** The canonical request target: every spelling of a path is judged as the one it means. */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { canonicalTarget } from './target';

function canonical(raw: string): string {
  const t = canonicalTarget(raw);
  assert.ok('target' in t, `${raw}: ${'problem' in t ? t.problem : ''}`);
  assert.equal(t.decodedSlashes, undefined, `${raw} has no encoded / to read twice`);
  return t.target;
}

/** The target as forwarded and the second reading judged with it. */
function twoReadings(raw: string): [string, string | undefined] {
  const t = canonicalTarget(raw);
  assert.ok('target' in t, `${raw}: ${'problem' in t ? t.problem : ''}`);
  return [t.target, t.decodedSlashes];
}

function refused(raw: string): string {
  const t = canonicalTarget(raw);
  assert.ok('problem' in t, `${raw} was accepted as ${'target' in t ? t.target : ''}`);
  return t.problem;
}

describe('the canonical request target', () => {
  it('leaves a plain target as it is', () => {
    assert.equal(canonical('/'), '/');
    assert.equal(canonical('/v1/models?limit=2&after=x'), '/v1/models?limit=2&after=x');
    assert.equal(canonical('/dir/'), '/dir/');
    assert.equal(canonical("/a-b_c.d~e!$&'()*+,;=:@"), "/a-b_c.d~e!$&'()*+,;=:@");
  });

  it('decodes percent-encoded unreserved characters, in either case of hex', () => {
    assert.equal(canonical('/%61dmin'), '/admin');
    assert.equal(canonical('/%41%44%4d%49%4E'), '/ADMIN');
    assert.equal(canonical('/%7euser/%2D%5f'), '/~user/-_');
    assert.equal(canonical('/x?q=%61'), '/x?q=a');
  });

  it('keeps other escapes, in upper case', () => {
    assert.equal(canonical('/a%20b'), '/a%20b');
    assert.equal(canonical('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(canonical('/x?next=%2fhome%3fa%3d1'), '/x?next=%2Fhome%3Fa%3D1');
    assert.equal(canonical('/x?pct=%25'), '/x?pct=%25');
  });

  it('resolves dot segments, encoded or not', () => {
    assert.equal(canonical('/./admin'), '/admin');
    assert.equal(canonical('/public/../admin'), '/admin');
    assert.equal(canonical('/public/%2e%2e/admin'), '/admin');
    assert.equal(canonical('/public/.%2E/admin/./users'), '/admin/users');
    assert.equal(canonical('/a/b/..'), '/a/');
    assert.equal(canonical('/a/.'), '/a/');
    assert.equal(canonical('/a/..?x=/../y'), '/?x=/../y');
  });

  it('forwards an encoded / as sent, and judges the path as a decoding server reads it too', () => {
    assert.deepEqual(twoReadings('/@types%2fnode'), ['/@types%2Fnode', '/@types/node']);
    assert.deepEqual(twoReadings('/api/v4/projects/group%2Fproject?x=1'), [
      '/api/v4/projects/group%2Fproject?x=1',
      '/api/v4/projects/group/project?x=1',
    ]);
    assert.deepEqual(twoReadings('/x/..%2Fadmin'), ['/x/..%2Fadmin', '/admin']);
    assert.deepEqual(twoReadings('/x/%2E%2E%2Fadmin'), ['/x/..%2Fadmin', '/admin']);
    assert.match(refused('/x%2F..%2F..%2Fetc'), /climbs above the root with \.\. once its encoded/);
    assert.match(refused('/x%2F%2Fy'), /empty path segment \(\/\/\) once its encoded/);
  });

  it('refuses encoded backslashes, NUL and control characters', () => {
    assert.match(refused('/public%5cadmin'), /encoded "\\\\"/);
    assert.match(refused('/admin%00.json'), /a NUL byte encoded as %00 in its path/);
    assert.match(refused('/x?q=%00'), /a NUL byte encoded as %00 in its query/);
    assert.match(refused('/a%0d%0aX: y'), /control character 0xd encoded as %0d/);
    assert.match(refused('/a%7f'), /control character 0x7f/);
  });

  it('refuses double encoding, a backslash and bytes outside printable ASCII', () => {
    assert.match(refused('/%2561dmin'), /encoded "%" \(%25\)/);
    assert.match(refused('/public\\..\\admin'), /backslash in its path/);
    assert.match(refused('/x?a=\\'), /backslash in its query/);
    assert.match(refused('/caf\u00e9'), /outside printable ASCII \(0xe9\)/);
    assert.match(refused('/a b'), /the character " "/);
    assert.match(refused('/a\tb'), /control character 0x9/);
  });

  it('refuses malformed escapes, empty segments, climbing out of the root and fragments', () => {
    assert.match(refused('/a%4'), /% not followed by two hex digits/);
    assert.match(refused('/a%zz'), /% not followed by two hex digits/);
    assert.match(refused('//admin'), /empty path segment/);
    assert.match(refused('/public//admin'), /empty path segment/);
    assert.match(refused('/../admin'), /climbs above the root/);
    assert.match(refused('/a/%2e%2e/..'), /climbs above the root/);
    assert.match(refused('/admin#x'), /fragment/);
    assert.match(refused('admin'), /does not start with \//);
  });

  it('says which target and what to do', () => {
    assert.equal(
      refused('/a%5cb'),
      'request target "/a%5cb" holds an encoded "\\\\" (%5c) in its path; ' +
        'send the path in its plain form so that it can be judged',
    );
  });
});
