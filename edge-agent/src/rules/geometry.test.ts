import { describe, expect, it } from 'vitest';
import {
  crossingPositionOnLine,
  distanceToPolygonEdge,
  distanceToSegment,
  footPoint,
  pointInPolygon,
  signedDistanceToLine,
} from './geometry.js';

describe('geometry', () => {
  it('puts the foot point at the bottom-centre of the box', () => {
    expect(footPoint({ x: 10, y: 20, w: 30, h: 80 })).toEqual([25, 100]);
  });

  it('tells the right-hand side of a line as seen on the image (y down) by a positive distance', () => {
    // line pointing right: below it on screen is its right-hand side
    expect(signedDistanceToLine([5, 13], [0, 10], [10, 10])).toBeCloseTo(3, 12);
    expect(signedDistanceToLine([5, 4], [0, 10], [10, 10])).toBeCloseTo(-6, 12);
    // line pointing down: left of it on screen is its right-hand side
    expect(signedDistanceToLine([-2, 5], [0, 0], [0, 10])).toBeCloseTo(2, 12);
  });

  it('locates a crossing along the segment', () => {
    expect(crossingPositionOnLine([2.5, 0], [2.5, 20], [0, 10], [10, 10])).toBeCloseTo(0.25, 12);
    expect(crossingPositionOnLine([0, 0], [20, 20], [0, 10], [10, 10])).toBeCloseTo(1, 12);
    expect(crossingPositionOnLine([15, 0], [15, 20], [0, 10], [10, 10])).toBeGreaterThan(1);
  });

  it('tests points against polygons and measures distance to their edges', () => {
    const square: [number, number][] = [
      [0, 0],
      [10, 0],
      [10, 10],
      [0, 10],
    ];
    expect(pointInPolygon([5, 5], square)).toBe(true);
    expect(pointInPolygon([15, 5], square)).toBe(false);
    expect(distanceToPolygonEdge([5, 5], square)).toBe(5);
    expect(distanceToPolygonEdge([13, 14], square)).toBe(5);
    expect(distanceToSegment([3, 3], [0, 0], [0, 0])).toBeCloseTo(Math.hypot(3, 3), 12);
  });
});
