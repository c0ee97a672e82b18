/** The page's elements by id (index.html), typed where it matters. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const input = (id: string) => $<HTMLInputElement>(id);
