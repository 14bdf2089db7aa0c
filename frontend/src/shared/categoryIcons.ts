// A small inline SVG icon set for case categories, keyed by the category's `icon` field.
// Each icon is drawn on a 24×24 grid as stroked paths (stroke = currentColor), so it takes the
// colour and size of the text around it. Unknown keys fall back to a generic marker.

export const CATEGORY_ICONS: Record<string, string> = {
  manhole:
    '<circle cx="12" cy="12" r="8.5"/><path d="M6 8.5h12M4.5 12h15M6 15.5h12"/>',
  pothole:
    '<path d="M4 21 8 3M20 21 16 3M12 4v2M12 9v2"/><ellipse cx="12" cy="16" rx="4.5" ry="2.2"/>',
  lamp: '<path d="M8 21h8M12 21V7a3 3 0 0 1 3-3h2"/><path d="M14.5 7h6l-1 2.5h-4z"/><path d="M17 12v1.5"/>',
  trash:
    '<path d="M4 7h16M9.5 7V4h5v3M6 7l1.2 14h9.6L18 7M10 11v6M14 11v6"/>',
  tree: '<path d="M12 22v-6"/><path d="M12 2.5 5 12h4l-3 4h12l-3-4h4z"/>',
  water:
    '<path d="M12 3s6 6.6 6 11a6 6 0 0 1-12 0c0-4.4 6-11 6-11z"/><path d="M9.5 15a2.5 2.5 0 0 0 2.5 2.5"/>',
  drain:
    '<rect x="4" y="5" width="16" height="14" rx="2"/><path d="M8 5v14M12 5v14M16 5v14"/>',
  hydrant:
    '<path d="M7 21h10M9 21V10h6v11M8 10h8M10 10V7a2 2 0 0 1 4 0v3M6 14h3M15 14h3"/>',
  sign: '<path d="M12 3 3.5 16h17z"/><path d="M12 16v6M12 8.5v3.5M12 14h.01"/>',
  guardrail: '<path d="M3 9h18M3 14h18M6 6v14M12 6v14M18 6v14"/>',
  bus: '<rect x="5" y="3" width="14" height="15" rx="2.5"/><path d="M5 11h14M8 21v-3M16 21v-3M8.5 14.5h.01M15.5 14.5h.01"/>',
  sidewalk: '<path d="M4 21 7 3h10l3 18z"/><path d="M5.5 12h13M12 3v18"/>',
  toilet:
    '<path d="M6 3h5v7H6zM4 10h15a5 5 0 0 1-5 5h-2l1 6H9l1-6H8a4 4 0 0 1-4-5z"/>',
  bench: '<path d="M3 8h18M3 13h18M6 13v6M18 13v6M5 8V5M19 8V5"/>',
  dumping:
    '<path d="M7 9h10l2 12H5z"/><path d="M9.5 9 12 4l2.5 5M10 14h4"/>',
  animal:
    '<circle cx="6" cy="10" r="1.8"/><circle cx="10" cy="6" r="1.8"/><circle cx="14" cy="6" r="1.8"/><circle cx="18" cy="10" r="1.8"/><path d="M8 18c0-3 2-5.5 4-5.5s4 2.5 4 5.5c0 1.6-1.5 2.5-4 2.5s-4-.9-4-2.5z"/>',
  graffiti:
    '<rect x="6" y="10" width="8" height="11" rx="1.5"/><path d="M8 10V7h4v3M10 7V5M16 5h.01M19 3h.01M19 7h.01M17.5 9h.01"/>',
  flyer: '<path d="M6 3h9l4 4v14H6z"/><path d="M15 3v4h4M9 12h7M9 16h7"/>',
  banner: '<path d="M3 5h18v8H3zM5 13v8M19 13v8M7 9h10"/>',
  noise:
    '<path d="M4 9h4l5-4v14l-5-4H4z"/><path d="M16.5 9a4 4 0 0 1 0 6M19 6.5a7.5 7.5 0 0 1 0 11"/>',
  debris: '<path d="M3 20h18M5 20l3-6 3 3 3-7 5 10"/><circle cx="17" cy="6" r="1.5"/>',
  construction:
    '<path d="M10 3.5h4L18.5 20h-13z"/><path d="M3.5 20h17M8.6 9.5h6.8M7.2 15h9.6"/>',
  car: '<path d="M4 16v-3.5L6.5 7h11l2.5 5.5V16z"/><path d="M4 12.5h16"/><circle cx="8" cy="17" r="2"/><circle cx="16" cy="17" r="2"/>',
  flood:
    '<path d="M3 9c2-2 4-2 6 0s4 2 6 0 4-2 6 0M3 14c2-2 4-2 6 0s4 2 6 0 4-2 6 0M3 19c2-2 4-2 6 0s4 2 6 0 4-2 6 0"/>',
  sinkhole:
    '<ellipse cx="12" cy="16" rx="8" ry="3.5"/><path d="M3 8l4 2 3-3 4 3 3-2 4 2M9.5 16.5l1-2 1.5 1 1.5-1.5"/>',
  smoke:
    '<path d="M7 21c0-3 3-3.5 3-6.5S7 11 7 8M13 21c0-3 3-3.5 3-6.5S13 11 13 8M10 5.5a2.5 2.5 0 0 1 5 0"/>',
  stall:
    '<path d="M3 9l2-5h14l2 5z"/><path d="M3 9a3 3 0 0 0 6 0 3 3 0 0 0 6 0 3 3 0 0 0 6 0M5 12v9h14v-9M10 21v-5h4v5"/>',
};

export const FALLBACK_ICON =
  '<path d="M12 21s-7-6.2-7-11.5a7 7 0 0 1 14 0C19 14.8 12 21 12 21z"/><path d="M12 7v4M12 14h.01"/>';

export function iconSvg(icon: string | null | undefined, size = 24): string {
  const body = (icon && CATEGORY_ICONS[icon]) || FALLBACK_ICON;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="${size}" height="${size}" ` +
    `fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" ` +
    `stroke-linejoin="round" aria-hidden="true" focusable="false">${body}</svg>`
  );
}
