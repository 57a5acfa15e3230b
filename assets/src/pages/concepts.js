/* concepts.html: the concept probes (factors/concepts.js). */
import { startConcepts } from '../factors/concepts.js';

startConcepts();
