extension BuiltinTemplates {
    static let consent = """
        {{<layout}}
        {{$title}}Allow access?{{/title}}
        {{$content}}
        <h1>Allow {{client_name}} to access your account?</h1>
        {{#unverified}}<p class="warning" role="note" id="unverified-warning"><strong>Unverified application.</strong> This application registered
        itself; {{branding.service_name}} cannot vouch for it. Continue only if you trust {{client_host}}.</p>{{/unverified}}
        <dl class="client">
        <dt>Application</dt><dd id="client-name">{{client_name}}</dd>
        {{#client_uri}}<dt>Website</dt><dd><a id="client-uri" href="{{client_uri}}">{{client_uri}}</a></dd>{{/client_uri}}
        <dt>Signed in as</dt><dd>{{user_id}}</dd>
        </dl>
        <h2>It will be able to</h2>
        <ul class="scopes">
        {{#scopes}}<li>{{.}}</li>{{/scopes}}
        </ul>
        {{#device_id}}<p>A new session will appear in your device list as <strong id="device-id">{{device_id}}</strong>.</p>{{/device_id}}
        <form id="consent-form" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="consent" type="submit" name="action" value="consent">Allow</button>
        <button id="reject" type="submit" name="action" value="reject" class="secondary">Cancel</button>
        </form>
        <p class="small">Not {{user_id}}? <a href="/account/">Sign out first</a></p>
        {{/content}}
        {{/layout}}
        """

    /// RFC 6749 form_post response (OAuth 2.0 Form Post Response Mode §2): a form the script in
    /// `/assets/form-post.js` submits at once; without JavaScript the user presses the button.
    static let formPost = """
        {{<layout}}
        {{$title}}Returning to the application{{/title}}
        {{$content}}
        <h1>Returning to the application</h1>
        <form id="form-post" method="post" action="{{redirect_uri}}">
        {{#fields}}<input type="hidden" name="{{name}}" value="{{value}}">
        {{/fields}}
        <button id="form-post-continue" type="submit">Continue</button>
        </form>
        <script src="/assets/form-post.js"></script>
        {{/content}}
        {{/layout}}
        """

    static let link = """
        {{<layout}}
        {{$title}}Link a device{{/title}}
        {{$content}}
        <h1>Link a device</h1>
        <p>Enter the code shown on the device you want to sign in.</p>
        {{#error}}<p class="error" role="alert" id="link-error">{{error}}</p>{{/error}}
        <form id="link-form" method="post" action="/link">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="code">Code</label>
        <input id="code" name="code" type="text" value="{{code}}" autocomplete="off" autocapitalize="characters" spellcheck="false" required
        autofocus>
        <button id="submit" type="submit">Continue</button>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let deviceConsent = """
        {{<layout}}
        {{$title}}Allow the device?{{/title}}
        {{$content}}
        <h1>Allow {{client_name}} on another device to access your account?</h1>
        {{#unverified}}<p class="warning" role="note" id="unverified-warning"><strong>Unverified application.</strong> This application registered
        itself; {{branding.service_name}} cannot vouch for it.</p>{{/unverified}}
        <dl class="client">
        <dt>Application</dt><dd id="client-name">{{client_name}}</dd>
        {{#client_uri}}<dt>Website</dt><dd><a id="client-uri" href="{{client_uri}}">{{client_uri}}</a></dd>{{/client_uri}}
        <dt>Code</dt><dd>{{user_code}}</dd>
        <dt>Signed in as</dt><dd>{{user_id}}</dd>
        </dl>
        <h2>It will be able to</h2>
        <ul class="scopes">
        {{#scopes}}<li>{{.}}</li>{{/scopes}}
        </ul>
        {{#device_id}}<p>A new session will appear in your device list as <strong id="device-id">{{device_id}}</strong>.</p>{{/device_id}}
        <form id="device-consent-form" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="consent" type="submit" name="action" value="consent">Allow</button>
        <button id="reject" type="submit" name="action" value="reject" class="secondary">Deny</button>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let deviceDone = """
        {{<layout}}
        {{$title}}{{title}}{{/title}}
        {{$content}}
        <h1 id="device-done">{{title}}</h1>
        <p>{{message}}</p>
        {{/content}}
        {{/layout}}
        """

    static let ssoConsent = """
        {{<layout}}
        {{$title}}Continue to the application?{{/title}}
        {{$content}}
        <h1>Sign in to {{redirect_host}}?</h1>
        <p>An application at <strong id="redirect-host">{{redirect_host}}</strong> asks to sign in to your account <strong>{{user_id}}</strong>. It
        will get full access to your account.</p>
        <p class="small">You will be sent to {{redirect_url}}</p>
        <form id="sso-consent-form" method="post" action="{{action}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="consent" type="submit" name="action" value="consent">Continue</button>
        <button id="reject" type="submit" name="action" value="reject" class="secondary">Cancel</button>
        </form>
        {{/content}}
        {{/layout}}
        """
}
