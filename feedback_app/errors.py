from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Please go back and try again.")),
    403: (_l("You do not have access to this page"), _l("Your account does not have the role this page needs.")),
    404: (_l("Page not found"), _l("The page may have moved, or the link may be incomplete.")),
    429: (_l("Too many requests"), _l("Please wait a minute before trying again.")),
    500: (_l("Something went wrong on our side"), _l("Please try again later. If you were sending a view, check your tracking link before sending it again.")),
}


def _page(code):
    title, detail = MESSAGES[code]
    return render_template("error.html", code=code, title=title, detail=detail), code


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
        return render_template("error.html", code=400, title=title, detail=detail), 400
