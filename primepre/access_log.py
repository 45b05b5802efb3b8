"""gunicorn's access log without the tokens of sign-in links: a link's path holds a secret that
opens an account until it is used or expires, so the log names its account id only."""

from gunicorn.glogging import Logger

from primepre.logging import redact_link_tokens


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "f"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_link_tokens(atoms[name])
        return atoms
