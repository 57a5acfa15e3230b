/* The pager under a paged list (templates/_macros.html pager(): #prev, #next, #page-info): the
 * buttons turn the ?page= of the URL state; go(page or null) shows it, then `top` scrolls into view. */
import { byId, query } from '../core/data.js';

export function wirePager(go, top) {
  const turn = (delta) => {
    const page = Number(query().page || 0) + delta;
    go(page || null);
    top.scrollIntoView({ block: 'start' });
  };
  byId('prev').addEventListener('click', () => turn(-1));
  byId('next').addEventListener('click', () => turn(1));
}
