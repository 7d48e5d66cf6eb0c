-- wrk: POST a fixed form body ($FORM_BODY) to $TOKEN_PATH.
wrk.method = "POST"
wrk.path = os.getenv("TOKEN_PATH")
wrk.body = os.getenv("FORM_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
