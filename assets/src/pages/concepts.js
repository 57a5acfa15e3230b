/* concepts.html: the concept probes (factors/concepts.js). */
import { startPage } from '../core/page.js';
import { startConcepts } from '../factors/concepts.js';

startPage(startConcepts);
