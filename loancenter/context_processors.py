from loancenter.posts import POST_LABELS


def posts(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"my_posts": []}
    return {"my_posts": [(code, POST_LABELS[code]) for code in sorted(user.posts) if code in POST_LABELS]}
