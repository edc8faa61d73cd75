"""Password strength: a minimum length, then zxcvbn's estimate against common passwords,
names and patterns, with its own advice as the message.

zxcvbn is imported when a password is set, not with the app: its frequency lists add about
14 MB to a process, and most web processes only ever serve pages and polls."""
MIN_LENGTH = 10
MIN_SCORE = 3  # zxcvbn's 0-4; 3 is "safely unguessable" against an online attack


def password_problem(password: str, *known: str) -> str | None:
    """What is wrong with `password` (`known`: the email and such, which it must not lean on)."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters; a few unrelated words are easy to remember."
    from zxcvbn import zxcvbn  # noqa: PLC0415  (lazy: 14 MB of word lists, needed only when a password is set)

    verdict = zxcvbn(password[:128], user_inputs=[k for k in known if k])
    if verdict["score"] >= MIN_SCORE:
        return None
    advice = [verdict["feedback"]["warning"], *verdict["feedback"]["suggestions"]]
    return " ".join(a for a in advice if a) or "This password is easy to guess; add another word or two."
