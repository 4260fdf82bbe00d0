from flask import Flask, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Please go back and try again.")),
    403: (_l("You do not have access to this page"), _l("Your account does not have the role this page needs.")),
    404: (_l("Page not found"), _l("The page may have moved, or the link may be incomplete.")),
    413: (_l("What you sent is too large"), _l("Please go back, shorten your text and send it again.")),
    429: (_l("Too many requests"), _l("Please wait a minute before trying again.")),
    500: (
        _l("Something went wrong on our side"),
        _l("Please try again later. If you were sending a view, go back to the form and send it again."),
    ),
}


def _page(code):
    title, detail = MESSAGES[code]
    return error_page(code, title, detail)


def error_page(code, title, detail):
    try:
        return render_template("error.html", code=code, title=title, detail=detail), code
    except (sa_exc.DBAPIError, sa_exc.TimeoutError) as exc:
        # The layout shows who is signed in, which loads the user: with the database down,
        # any error page for a signed-in person is the 503 page instead of a second error.
        return database_unavailable(exc)


def _handle(exc, code):
    # An error that carries its own page (e.g. the submission form shown again when a rate
    # limit is hit, with what the resident typed) keeps it.
    if getattr(exc, "response", None) is not None:
        return exc.response
    return _page(code)


def register(app: Flask) -> None:
    for code in MESSAGES:
        app.register_error_handler(code, lambda exc, code=code: _handle(exc, code))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        title = _l("This form has expired")
        detail = _l("For your security, forms expire. Please go back, reload the page and send it again.")
        return error_page(400, title, detail)

    app.register_error_handler(sa_exc.DBAPIError, database_unavailable)
    app.register_error_handler(sa_exc.TimeoutError, database_unavailable)  # no free connection in the pool


def _is_outage(exc) -> bool:
    # OperationalError: cannot connect, connection lost, SQLite locked or unreadable;
    # InterfaceError: the driver's connection is unusable. Any other driver error (a value out
    # of range, a broken constraint) is a bug to see as a 500, not something to wait out.
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def database_unavailable(exc):
    """A translated 503 with Retry-After while the database cannot be reached.

    Nothing here may touch the database again: the page is shown as to a visitor who is not
    signed in (loading the user, or reading an already loaded one, would query it), and the
    pool's pre-ping replaces dead connections on later requests, so service resumes by itself
    when the database is back.
    """
    if not _is_outage(exc):
        raise exc
    current_app.logger.error("Database unavailable, answering 503: %s", exc)
    # Flask-Login's per-request user (private): it has no public way to make one request anonymous
    # without touching the session (logout_user would also load the user and clear the cookie).
    g._login_user = current_app.login_manager.anonymous_user()
    kept_text = None
    if request.method == "POST" and request.blueprint == "intake":
        # Say plainly that the view was not stored (there is no tracking link to look for),
        # and give the text back so the resident does not have to write it again.
        title = _l("Your view was not received")
        detail = _l(
            "We could not store it because our database is not answering. Please copy your text and send it again in a few minutes."
        )
        kept_text = request.form.get("body")
    elif request.method == "POST":
        title = _l("What you sent was not saved")
        detail = _l("Our database is not answering. Please go back and send it again in a few minutes.")
    else:
        title = _l("This service is briefly unavailable")
        detail = _l("Our database is not answering. Please try again in a few minutes.")
    page = render_template("unavailable.html", code=503, title=title, detail=detail, kept_text=kept_text)
    return (
        page,
        503,
        {
            "Retry-After": str(current_app.config["DATABASE_RETRY_AFTER"]),
            "Cache-Control": "no-store",
        },
    )
