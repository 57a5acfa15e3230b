/*
 * Where the plot is on screen: the stage's size and the screen position of any point (2D
 * regl-scatterplot or 3D three.js), what the overlay, the tooltip and the tests draw on. Below
 * the plot and the overlay, so that both can import it.
 */
import { S } from './state.js';

export function stageSize() {
  return { w: Math.max(1, Math.round(S.stage.clientWidth)), h: Math.max(1, Math.round(S.stage.clientHeight)) };
}

var scratch = [0, 0];
export function screenPos(i) {
  if (S.view.dim === 3) {
    return S.three.project(i, scratch) ? [scratch[0], scratch[1]] : null;
  }
  var p = S.scatter.getScreenPosition(i);
  return p ? [p[0], p[1]] : null;
}
