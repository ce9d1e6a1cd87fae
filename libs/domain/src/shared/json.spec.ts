import { NotJsonError, jsonEqual, toJson, toJsonObject } from './json';

describe('toJson', () => {
  it('copies plain JSON and drops undefined properties', () => {
    const value = { a: 1, b: 'x', c: [true, null, { d: 2.5 }], e: undefined };
    const copy = toJson(value);
    expect(copy).toEqual({ a: 1, b: 'x', c: [true, null, { d: 2.5 }] });
    expect(copy).not.toBe(value);
  });

  it.each([
    ['a Date', { at: new Date() }, '$.at is a Date'],
    ['a bigint', { version: 1n }, '$.version is a bigint'],
    ['NaN', { n: Number.NaN }, '$.n is NaN'],
    ['Infinity', { n: Number.POSITIVE_INFINITY }, '$.n is Infinity'],
    ['a Map', { m: new Map() }, '$.m is a Map'],
    ['a function', { f: () => 1 }, '$.f is a function'],
    ['undefined in an array', { list: [1, undefined] }, '$.list[1] is undefined'],
  ])('refuses %s', (_what, value, message) => {
    expect(() => toJson(value)).toThrow(NotJsonError);
    expect(() => toJson(value)).toThrow(message);
  });

  it('toJsonObject refuses non-objects', () => {
    expect(() => toJsonObject([] as unknown as object)).toThrow('not an object');
    expect(toJsonObject(Object.create(null) as object)).toEqual({});
  });
});

describe('jsonEqual', () => {
  it('ignores key order (jsonb does not keep it) but not array order', () => {
    expect(jsonEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBe(true);
    expect(jsonEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1], { 0: 1 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
