-- wrk: GET $TOKEN_PATH with the bearer token $BEARER.
wrk.method = "GET"
wrk.path = os.getenv("TOKEN_PATH")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BEARER")
