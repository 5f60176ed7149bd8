/// The account pages (`/account/…`). Each shows the account navigation (`account_nav`) and a notice
/// after a change; destructive actions have their own confirmation page, so nothing needs JavaScript.
extension BuiltinTemplates {
    static let accountNav = """
        <nav class="account" aria-label="Account">
        <a id="nav-profile" href="/account/"{{#nav_profile}} aria-current="page"{{/nav_profile}}>Profile</a>
        <a id="nav-sessions" href="/account/sessions"{{#nav_sessions}} aria-current="page"{{/nav_sessions}}>Sessions</a>
        <a id="nav-password" href="/account/password"{{#nav_password}} aria-current="page"{{/nav_password}}>Password</a>
        </nav>
        {{#notice}}<p class="notice" role="status" id="account-notice">{{notice}}</p>{{/notice}}
        {{#error}}<p class="error" role="alert" id="account-error">{{error}}</p>{{/error}}
        """

    static let account = """
        {{<layout}}
        {{$title}}Your account{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1>Your account</h1>
        <p>You are signed in as <strong id="user-id">{{user_id}}</strong>.</p>
        <h2 id="profile-heading">Profile</h2>
        {{#profile_unavailable}}<p class="warning" role="note" id="profile-unavailable">The homeserver could not be reached, so your current
        display name is not shown.</p>{{/profile_unavailable}}
        <form id="profile-form" method="post" action="/account/profile" aria-labelledby="profile-heading">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="displayname">Display name</label>
        <input id="displayname" name="displayname" type="text" value="{{display_name}}" maxlength="256" autocomplete="nickname"
        aria-describedby="displayname-help">
        <p class="help" id="displayname-help">Shown to the people you talk to. Leave it empty to remove it.</p>
        <button id="save-profile" type="submit">Save</button>
        </form>
        <h2>Security</h2>
        <ul class="links">
        <li><a id="sessions-link" href="/account/sessions">Sessions and devices</a></li>
        <li><a id="password-link" href="/account/password">Change your password</a></li>
        <li><a id="cross-signing-link" href="/account/cross-signing-reset">Reset your cryptographic identity</a></li>
        </ul>
        <form id="logout-form" method="post" action="/logout">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="logout" type="submit" class="secondary">Sign out</button>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let accountSessions = """
        {{<layout}}
        {{$title}}Sessions and devices{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1>Sessions and devices</h1>
        <h2>Apps and devices</h2>
        {{^sessions}}<p id="no-sessions">No app or device is signed in to your account.</p>{{/sessions}}
        <ul class="sessions" id="device-sessions">
        {{#sessions}}<li class="session" id="session-{{id}}">
        <h3><a href="/account/sessions/{{id}}">{{name}}</a></h3>
        <dl class="client">
        {{#device_id}}<dt>Device ID</dt><dd class="device-id">{{device_id}}</dd>{{/device_id}}
        {{#client_name}}<dt>Application</dt><dd>{{client_name}}</dd>{{/client_name}}
        <dt>Signed in</dt><dd><time datetime="{{created_iso}}">{{created}}</time></dd>
        <dt>Last active</dt><dd>{{#last_active}}<time datetime="{{last_active_iso}}">{{last_active}}</time>{{/last_active}}{{^last_active}}Not
        recorded yet{{/last_active}}{{#last_address}} from {{last_address}}{{/last_address}}</dd>
        </dl>
        <p><a class="button danger" href="/account/sessions/{{id}}/end" aria-label="Sign out {{name}}">Sign out</a></p>
        </li>
        {{/sessions}}
        </ul>
        <h2>Browsers</h2>
        <ul class="sessions" id="browser-sessions">
        {{#browsers}}<li class="session" id="session-{{id}}">
        <h3><a href="/account/sessions/{{id}}">{{name}}</a>{{#current}} <span class="badge">This browser</span>{{/current}}</h3>
        <dl class="client">
        <dt>Signed in</dt><dd><time datetime="{{created_iso}}">{{created}}</time></dd>
        <dt>Last active</dt><dd>{{#last_active}}<time datetime="{{last_active_iso}}">{{last_active}}</time>{{/last_active}}{{^last_active}}Not
        recorded yet{{/last_active}}{{#last_address}} from {{last_address}}{{/last_address}}</dd>
        </dl>
        </li>
        {{/browsers}}
        </ul>
        {{#has_others}}
        <form id="end-others-form" method="post" action="/account/sessions/end-others">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="end-others" type="submit" class="danger">Sign out of every other session</button>
        </form>
        {{/has_others}}
        {{/content}}
        {{/layout}}
        """

    static let accountSession = """
        {{<layout}}
        {{$title}}{{name}}{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1 id="session-name">{{name}}</h1>
        <dl class="client">
        <dt>Kind</dt><dd>{{kind}}</dd>
        {{#device_id}}<dt>Device ID</dt><dd id="device-id">{{device_id}}</dd>{{/device_id}}
        {{#client_name}}<dt>Application</dt><dd id="client-name">{{client_name}}</dd>{{/client_name}}
        {{#user_agent}}<dt>Browser</dt><dd>{{user_agent}}</dd>{{/user_agent}}
        <dt>Signed in</dt><dd><time datetime="{{created_iso}}">{{created}}</time></dd>
        <dt>Last active</dt><dd>{{#last_active}}<time datetime="{{last_active_iso}}">{{last_active}}</time>{{/last_active}}{{^last_active}}Not
        recorded yet{{/last_active}}</dd>
        {{#last_address}}<dt>Last address</dt><dd>{{last_address}}</dd>{{/last_address}}
        </dl>
        {{#renamable}}
        <form id="rename-form" method="post" action="/account/sessions/{{id}}">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="name">Device name</label>
        <input id="name" name="name" type="text" value="{{display_name}}" maxlength="100" required aria-describedby="name-help">
        <p class="help" id="name-help">Other people see this name when they verify your devices.</p>
        <button id="rename" type="submit">Rename</button>
        </form>
        {{/renamable}}
        {{#current}}<p>This is the browser you are using now; use <a href="/account/">Sign out</a> to end it.</p>{{/current}}
        {{^current}}<p><a id="end-link" class="button danger" href="/account/sessions/{{id}}/end">Sign out this session</a></p>{{/current}}
        <p><a href="/account/sessions">All sessions</a></p>
        {{/content}}
        {{/layout}}
        """

    static let accountSessionEnd = """
        {{<layout}}
        {{$title}}Sign out {{name}}?{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1>Sign out {{name}}?</h1>
        <dl class="client">
        {{#device_id}}<dt>Device ID</dt><dd id="device-id">{{device_id}}</dd>{{/device_id}}
        {{#client_name}}<dt>Application</dt><dd>{{client_name}}</dd>{{/client_name}}
        <dt>Last active</dt><dd>{{#last_active}}{{last_active}}{{/last_active}}{{^last_active}}Not recorded yet{{/last_active}}</dd>
        </dl>
        <p>The session ends at once{{#device_id}}: the device is removed from your account, with the encryption keys it holds,{{/device_id}} and
        it has to sign in again to be used.</p>
        <form id="end-form" method="post" action="/account/sessions/{{id}}/end">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="confirm-end" type="submit" class="danger">Sign out</button>
        <a id="cancel" class="button secondary" href="/account/sessions/{{id}}">Cancel</a>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let accountPassword = """
        {{<layout}}
        {{$title}}Change your password{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1>Change your password</h1>
        <form id="password-form" method="post" action="/account/password">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="current_password">Current password</label>
        <input id="current_password" name="current_password" type="password" autocomplete="current-password" required>
        <label for="new_password">New password</label>
        <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="{{minimum_password_length}}"
        aria-describedby="new-password-help" required>
        <p class="help" id="new-password-help">At least {{minimum_password_length}} characters.</p>
        <label for="new_password_confirm">New password again</label>
        <input id="new_password_confirm" name="new_password_confirm" type="password" autocomplete="new-password" required>
        <p class="check"><input id="end_others" name="end_others" type="checkbox" value="on">
        <label for="end_others">Also sign out of every other session</label></p>
        <button id="submit" type="submit">Change password</button>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let accountCrossSigning = """
        {{<layout}}
        {{$title}}Reset your cryptographic identity?{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1>Reset your cryptographic identity?</h1>
        <p class="warning" role="note">Only do this if you have lost every other signed-in device and your recovery key. Your contacts
        will have to verify you again, and messages you cannot decrypt now stay unreadable.</p>
        <p>After you allow it, your Matrix client has 10 minutes to upload your new identity without asking for your password.</p>
        <form id="cross-signing-form" method="post" action="/account/cross-signing-reset">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <button id="confirm-reset" type="submit" class="danger">Allow the reset</button>
        <a id="cancel" class="button secondary" href="/account/">Cancel</a>
        </form>
        {{/content}}
        {{/layout}}
        """

    static let accountDone = """
        {{<layout}}
        {{$title}}{{title}}{{/title}}
        {{$content}}
        {{>account_nav}}
        <h1 id="account-done">{{title}}</h1>
        <p>{{message}}</p>
        {{/content}}
        {{/layout}}
        """
}
