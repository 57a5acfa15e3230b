/*
 * The gallery (site/index.html, templates/gallery.html): the page is static; its script only
 * wires the model switcher of a site with several models.
 */
import { startPage } from '../core/page.js';

startPage();
