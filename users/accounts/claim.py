"""Claiming an account by its shipping mark (the SPA's unlinked /verify-account page).

The original backend listed every customer's mark to anyone, told anyone who knew a phone
number the name, email and mark of its account, and then let them set its password. Nothing of
that is served here. The page cannot carry a proof that the caller holds the phone: its two
requests send the phone, a mark picked from the public list, and the new password, and no PIN.
So the list is empty, and both steps answer a refusal that tells the person the way in that
works (SPA-CONTRACT.md 4.9): Forgot password, which texts the phone a link to choose a
password."""

CLAIM_UNAVAILABLE = "claim_unavailable"
CLAIM_MESSAGE = (
    "Accounts are not claimed on this page. To get into your account, choose 'Forgot "
    "password' on the sign-in page and enter your phone number: a text message brings you a "
    "link to choose your password."
)
MARKS_MESSAGE = "Shipping marks are not listed publicly."
