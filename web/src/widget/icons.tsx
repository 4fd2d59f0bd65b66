// Small inline SVG icons (one stroked path each) and an icon button: no icon font, no extra
// requests, nothing for a host page's CSS to break.

export function IconButton({ label, testid, d, onClick, pressed }: {
  label: string; testid: string; d: string; onClick: () => void; pressed?: boolean;
}) {
  return (
    <button type="button" aria-label={label} data-testid={testid} onClick={onClick} aria-pressed={pressed}
            className={`flex size-9 cursor-pointer items-center justify-center rounded-lg hover:bg-gray-100
                    focus-visible:outline-2 focus-visible:outline-brand ${pressed ? "bg-red-50 text-red-700" : "text-gray-600"}`}>
      <Icon size={18} d={d} />
    </button>
  );
}

export function Icon({ d, size = 24 }: { d: string; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="2"
         strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
      <path d={d} />
    </svg>
  );
}
