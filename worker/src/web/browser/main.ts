/**
 * The site's browser script (served as `/static/site.<hash>.js`, docs/website.md). Pages carry no inline script
 * (the CSP forbids it): each feature finds its elements by `data-*` attributes once the page is parsed (`defer`).
 */
import { initConfirmForms } from "./confirm";
import { initCopyButtons } from "./copy";
import { initFilters } from "./filter";
import { initJobPage, initPublishForms } from "./publish";
import { initSortableTables } from "./sortable";
import { initTrees } from "./tree";

initSortableTables();
initFilters();
initCopyButtons();
initConfirmForms();
initTrees();
initPublishForms();
initJobPage();
