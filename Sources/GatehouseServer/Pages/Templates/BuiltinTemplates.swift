/// The page templates shipped inside the binary (Mustache, HTML-escaped by default). A file
/// `NAME.html` in `templates.path` replaces the template `NAME`.
///
/// Every page extends `layout` through Mustache inheritance (`{{<layout}}…{{/layout}}`) and fills
/// its `title` and `content` blocks. Markup rules: one `h1` per page, a `label` for every input,
/// the form's fields in reading order, no inline style or script (the CSP forbids them), and
/// nothing that needs JavaScript.
enum BuiltinTemplates {
    /// Template names, as `templates.path` overrides them.
    static let all: [String: String] = [
        "layout": layout,
        "error": error,
        "login": login,
        "account": account,
        "account_nav": accountNav,
        "account_sessions": accountSessions,
        "account_session": accountSession,
        "account_session_end": accountSessionEnd,
        "account_password": accountPassword,
        "account_cross_signing": accountCrossSigning,
        "account_done": accountDone,
        "register": register,
        "consent": consent,
        "form_post": formPost,
        "link": link,
        "device_consent": deviceConsent,
        "device_done": deviceDone,
        "sso_consent": ssoConsent,
    ]

    static let layout = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>{{$title}}{{/title}} – {{branding.service_name}}</title>
        <link rel="stylesheet" href="/assets/gatehouse.css">
        </head>
        <body>
        <header class="site"><p class="service">{{branding.service_name}}</p></header>
        <main>
        {{$content}}{{/content}}
        </main>
        <footer class="site">
        {{#branding.policy_uri}}<a href="{{branding.policy_uri}}">Privacy policy</a>{{/branding.policy_uri}}
        {{#branding.tos_uri}}<a href="{{branding.tos_uri}}">Terms of service</a>{{/branding.tos_uri}}
        {{#branding.imprint}}<p>{{branding.imprint}}</p>{{/branding.imprint}}
        </footer>
        </body>
        </html>
        """

    static let error = """
        {{<layout}}
        {{$title}}{{title}}{{/title}}
        {{$content}}
        <h1 id="error-title">{{title}}</h1>
        <p class="error" role="alert">{{message}}</p>
        {{#details}}<p class="details">{{details}}</p>{{/details}}
        {{#back}}<p><a href="{{back}}">Start again</a></p>{{/back}}
        {{/content}}
        {{/layout}}
        """

    static let login = """
        {{<layout}}
        {{$title}}Sign in{{/title}}
        {{$content}}
        <h1>Sign in</h1>
        {{#client_name}}<p>to continue to <strong>{{client_name}}</strong></p>{{/client_name}}
        {{#reauth}}<p>Please enter your password again to continue.</p>{{/reauth}}
        {{#error}}<p class="error" role="alert" id="login-error">{{error}}</p>{{/error}}
        <form id="login-form" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="username">Username</label>
        <input id="username" name="username" type="text" value="{{username}}" autocomplete="username" autocapitalize="none" spellcheck="false"
        required{{^username}} autofocus{{/username}}>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required{{#username}} autofocus{{/username}}>
        <button id="submit" type="submit">Continue</button>
        </form>
        {{#register_link}}<p>No account yet? <a href="{{register_link}}">Create one</a></p>{{/register_link}}
        {{/content}}
        {{/layout}}
        """

    static let register = """
        {{<layout}}
        {{$title}}Create an account{{/title}}
        {{$content}}
        <h1>Create an account</h1>
        {{#error}}<p class="error" role="alert" id="register-error">{{error}}</p>{{/error}}
        <form id="register-form" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="username">Username</label>
        <input id="username" name="username" type="text" value="{{username}}" autocomplete="username" autocapitalize="none" spellcheck="false"
        aria-describedby="username-help" required autofocus>
        <p class="help" id="username-help">Lower-case letters, digits and . _ = - / + only. Your Matrix ID will be @name:{{server_name}}.</p>
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="new-password" minlength="{{minimum_password_length}}"
        aria-describedby="password-help" required>
        <p class="help" id="password-help">At least {{minimum_password_length}} characters.</p>
        <label for="password_confirm">Password again</label>
        <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required>
        {{#tos_uri}}
        <p class="check"><input id="accept_terms" name="accept_terms" type="checkbox" value="on" required>
        <label for="accept_terms">I accept the <a href="{{tos_uri}}">terms of service</a></label></p>
        {{/tos_uri}}
        <button id="submit" type="submit">Create account</button>
        </form>
        <p>Already have an account? <a href="{{login_link}}">Sign in</a></p>
        {{/content}}
        {{/layout}}
        """
}
