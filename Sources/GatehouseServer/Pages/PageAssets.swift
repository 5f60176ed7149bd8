import NIOCore
import NIOHTTP1

/// `GET /assets/…`: the stylesheet and the one script of the pages, served from the binary so the
/// Content-Security-Policy can forbid every inline style and script.
enum PageAssets {
    /// Colours meet WCAG AA contrast (at least 4.5:1 for text) on their backgrounds; focus is
    /// always visible.
    static let stylesheet = """
        *,*::before,*::after{box-sizing:border-box}
        html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:100%;line-height:1.5;color:#1b1d22;
        background:#f4f5f7}
        body{margin:0;min-height:100vh;display:flex;flex-direction:column}
        header.site,footer.site{padding:0.75rem 1.25rem}
        header.site{background:#1b1d22;color:#fff}
        header.site .service{margin:0;font-weight:600}
        footer.site{margin-top:auto;font-size:0.875rem;color:#4a4f59}
        footer.site a{margin-right:1rem}
        main{width:100%;max-width:30rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d5d8de;border-radius:0.5rem}
        h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
        h2{font-size:1.125rem;margin:1.25rem 0 0.5rem}
        a{color:#0b5cad}
        a:hover{color:#07417a}
        label{display:block;font-weight:600;margin:1rem 0 0.25rem}
        input[type=text],input[type=password]{display:block;width:100%;padding:0.625rem 0.75rem;font:inherit;color:inherit;background:#fff;
        border:1px solid #6b717c;border-radius:0.375rem}
        .check{display:flex;gap:0.5rem;align-items:flex-start;margin:1rem 0}
        .check label{display:inline;margin:0;font-weight:400}
        .check input{margin-top:0.35rem}
        button{display:inline-block;margin:1.25rem 0.5rem 0 0;padding:0.625rem 1.25rem;font:inherit;font-weight:600;color:#fff;background:#0b5cad;
        border:1px solid #0b5cad;border-radius:0.375rem;cursor:pointer}
        button:hover{background:#07417a}
        button.secondary{color:#1b1d22;background:#fff;border-color:#6b717c}
        button.secondary:hover{background:#eceef1}
        :focus-visible{outline:3px solid #c25100;outline-offset:2px}
        .error{color:#a4141b;background:#fdecec;border:1px solid #a4141b;border-radius:0.375rem;padding:0.5rem 0.75rem}
        .warning{color:#6b4000;background:#fff5d6;border:1px solid #8a5a00;border-radius:0.375rem;padding:0.5rem 0.75rem}
        .help,.small{font-size:0.875rem;color:#4a4f59;margin:0.25rem 0 0}
        dl.client{display:grid;grid-template-columns:max-content 1fr;gap:0.25rem 1rem;margin:1rem 0}
        dl.client dt{font-weight:600}
        dl.client dd{margin:0;overflow-wrap:anywhere}
        ul.scopes{padding-left:1.25rem}
        nav.account{display:flex;gap:1rem;margin:0 0 1rem;padding-bottom:0.5rem;border-bottom:1px solid #d5d8de}
        nav.account a[aria-current=page]{font-weight:600;text-decoration:none;color:#1b1d22}
        .notice{color:#0d5b1d;background:#e7f6ea;border:1px solid #1c7a32;border-radius:0.375rem;padding:0.5rem 0.75rem}
        ul.sessions,ul.links{list-style:none;padding:0;margin:0}
        ul.links li{margin:0.25rem 0}
        li.session{border:1px solid #d5d8de;border-radius:0.375rem;padding:0.75rem;margin:0.75rem 0}
        li.session h3{font-size:1rem;margin:0}
        li.session dl.client{margin:0.5rem 0}
        li.session p{margin:0}
        .badge{font-size:0.75rem;font-weight:600;color:#fff;background:#4a4f59;border-radius:1rem;padding:0.1rem 0.5rem}
        a.button{display:inline-block;margin:1.25rem 0.5rem 0 0;padding:0.625rem 1.25rem;font-weight:600;border:1px solid #6b717c;
        border-radius:0.375rem;text-decoration:none}
        li.session a.button{margin-top:0.5rem;padding:0.375rem 0.875rem}
        a.button.secondary{color:#1b1d22;background:#fff}
        button.danger,a.button.danger{color:#fff;background:#a4141b;border-color:#a4141b}
        button.danger:hover,a.button.danger:hover{background:#7d0f14;color:#fff}
        @media (prefers-color-scheme:dark){html{color:#e8eaed;background:#111317}main{background:#1b1d22;border-color:#3a3f48}a{color:#8ab8f0}
        a:hover{color:#b3d1f6}footer.site{color:#b4b9c2}.help,.small{color:#b4b9c2}input[type=text],input[type=password]{background:#111317;
        border-color:#8a909b}button.secondary{color:#e8eaed;background:#1b1d22;border-color:#8a909b}button.secondary:hover{background:#2a2e35}
        .error{color:#ffb4b4;background:#3a1214;border-color:#ff8a8a}.warning{color:#ffd88a;background:#33270a;border-color:#d9a52a}
        .notice{color:#a8e6b4;background:#10301a;border-color:#4fb36a}nav.account a[aria-current=page]{color:#e8eaed}
        nav.account,li.session{border-color:#3a3f48}a.button.secondary{color:#e8eaed;background:#1b1d22;border-color:#8a909b}}
        """

    /// Submits the form_post response form at once (the page works without it: the user presses
    /// Continue).
    /// `HTMLFormElement.prototype.submit` is called directly because a control named or with the
    /// id `submit` (as in an overridden template) would shadow `form.submit`.
    static let formPostScript = "HTMLFormElement.prototype.submit.call(document.getElementById(\"form-post\"));\n"

    static func respond(to request: LocalRequest) -> LocalResponse {
        guard request.method == .GET || request.method == .HEAD else {
            return LocalResponse(status: .methodNotAllowed, headers: ["Allow": "GET, HEAD"])
        }
        let (type, body): (String, String)
        switch request.target.canonicalPath {
        case "/assets/gatehouse.css": (type, body) = ("text/css; charset=utf-8", stylesheet)
        case "/assets/form-post.js": (type, body) = ("text/javascript; charset=utf-8", formPostScript)
        default: return LocalResponse(status: .notFound, headers: ["Content-Type": "text/plain"], body: ByteBuffer(string: "Not found"))
        }
        return LocalResponse(
            status: .ok,
            headers: ["Content-Type": type, "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"],
            body: ByteBuffer(string: body))
    }
}
