"""Login: argon2, TOTP where required (with QR enrolment), lockout per account, audit."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from port2port.core.models import AuditRecord, ClearanceLevel, User
from port2port.core.roles import Role

from .factories import PASSWORD, OrganisationFactory, sign_in, user_in

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def password_step(client, username, password=PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


@pytest.fixture
def org():
    return OrganisationFactory()


def test_passwords_are_hashed_with_argon2(org, settings):
    import port2port.settings as project

    assert project.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS  # as configured, not the tests' fast one
    user = user_in(org, Role.EMPLOYEE)
    assert user.password.startswith("argon2$argon2id$")


def test_employee_without_clearance_signs_in_with_password(client, org):
    user = user_in(org, Role.EMPLOYEE)
    response = password_step(client, user.username)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditRecord.objects.filter(action="auth.login", actor=user).exists()


def test_wrong_password_names_no_field_and_creates_no_session(client, org):
    user = user_in(org, Role.EMPLOYEE)
    response = password_step(client, user.username, "wrong password!")
    assert response.status_code == 200
    assert "wrong username or password" in response.content.decode().lower()
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "roles, clearance", [([Role.PLATFORM_ADMIN], "none"), ([Role.PFSO], "confidential")]
)
def test_second_factor_is_mandatory(client, org, roles, clearance):
    user = user_in(org, *roles, clearance=clearance)
    response = password_step(client, user.username)
    assert response["Location"] == "/login/enrol/"
    # The password alone opens nothing.
    assert client.get("/").status_code == 302
    page = client.get("/login/enrol/").content.decode()
    assert "<svg" in page  # the QR code
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert secret
    response = client.post(
        "/login/enrol/", {"code": "000000" if current_code(device) != "000000" else "111111"}
    )
    assert response.status_code == 200
    assert "does not match" in response.content.decode()
    response = client.post("/login/enrol/", {"code": current_code(device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditRecord.objects.filter(action="auth.totp.enrolled", object_id=str(user.pk)).exists()


def test_enrolled_user_is_asked_for_a_code(client, org):
    user = user_in(org, Role.PORT_SECURITY_OFFICER, clearance=ClearanceLevel.CONFIDENTIAL)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert password_step(client, user.username)["Location"] == "/login/code/"
    assert client.get("/").status_code == 302
    response = client.post("/login/code/", {"code": "12ab56"})
    assert "not valid" in response.content.decode()
    response = client.post("/login/code/", {"code": current_code(device)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    record = AuditRecord.objects.filter(action="auth.login", actor=user).latest("seq")
    assert record.details["method"] == "password+totp"


def test_code_step_needs_the_password_step(client, org):
    assert client.get("/login/code/")["Location"] == "/login/"
    assert client.get("/login/enrol/")["Location"] == "/login/"


def test_account_locks_after_repeated_failures_and_unlocks_by_time(client, org, settings):
    settings.LOGIN_MAX_FAILURES = 3
    user = user_in(org, Role.EMPLOYEE)
    for _ in range(3):
        password_step(client, user.username, "nope nope nope")
    user.refresh_from_db()
    assert user.is_locked()
    assert AuditRecord.objects.filter(action="auth.lockout", object_id=str(user.pk)).count() == 1
    response = password_step(client, user.username)  # right password, still locked
    assert "locked" in response.content.decode()
    assert client.get("/").status_code == 302
    User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert password_step(client, user.username).status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_totp_codes_count_towards_the_lockout(client, org, settings):
    settings.LOGIN_MAX_FAILURES = 2
    user = user_in(org, Role.PFSO, clearance=ClearanceLevel.CONFIDENTIAL)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    password_step(client, user.username)
    wrong = "000000" if current_code(device) != "000000" else "111111"
    client.post("/login/code/", {"code": wrong})
    response = client.post("/login/code/", {"code": wrong})
    assert response["Location"] == "/login/"
    user.refresh_from_db()
    assert user.is_locked()


def test_admin_unlocks_an_account(client, org, settings):
    settings.LOGIN_MAX_FAILURES = 1
    user = user_in(org, Role.EMPLOYEE)
    password_step(client, user.username, "bad password!")
    user.refresh_from_db()
    assert user.is_locked()
    officer = user_in(org, Role.COMPANY_SECURITY_MANAGER)
    sign_in(client, officer)
    response = client.post(f"/people/{user.person.pk}/account/unlock/")
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_locked()
    assert AuditRecord.objects.filter(action="auth.unlocked", actor=officer).exists()


def test_new_clearance_during_a_session_demands_the_second_factor(client, org):
    user = user_in(org, Role.EMPLOYEE)
    password_step(client, user.username)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=user.pk).update(
        clearance_level=ClearanceLevel.SECRET,
        clearance_valid_until=timezone.localdate() + timedelta(days=30),
    )
    response = client.get("/")
    assert response["Location"] == "/login/second-factor/"
    assert client.get(response["Location"])["Location"] == "/login/enrol/"
    assert client.get("/organisations/").status_code == 302


def test_api_refuses_a_session_without_its_second_factor(client, org):
    user = user_in(org, Role.PLATFORM_ADMIN)
    client.force_login(user)  # a session that skipped the second factor
    response = client.get("/api/v1/people")
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_logout_needs_post_and_is_audited(client, org):
    user = user_in(org, Role.EMPLOYEE)
    sign_in(client, user)
    assert client.get("/logout/").status_code == 405
    client.post("/logout/")
    assert client.get("/").status_code == 302
    assert AuditRecord.objects.filter(action="auth.logout", actor=user).exists()


def test_csrf_is_enforced_on_forms(org):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    user = user_in(org, Role.EMPLOYEE)
    response = strict.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403


def test_open_redirect_is_refused(client, org):
    user = user_in(org, Role.EMPLOYEE)
    response = client.post(
        "/login/",
        {"username": user.username, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


def test_a_password_alone_cannot_enrol_a_new_authenticator(client, org):
    """Someone who knows the password of an enrolled user must not swap in their own device."""
    user = user_in(org, Role.PFSO, clearance=ClearanceLevel.CONFIDENTIAL)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    assert password_step(client, user.username)["Location"] == "/login/code/"
    assert client.get("/login/enrol/")["Location"] == "/login/"
    assert client.post("/login/enrol/", {"code": "123456"})["Location"] == "/login/"
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert client.get("/").status_code == 302


def test_signed_in_user_replaces_their_authenticator(client, org):
    user = user_in(org, Role.PFSO, clearance=ClearanceLevel.CONFIDENTIAL)
    old = TOTPDevice.objects.create(user=user, name="old phone", confirmed=True)
    sign_in(client, user)
    assert client.post("/account/authenticator/")["Location"] == "/login/enrol/"
    client.get("/login/enrol/")
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post("/login/enrol/", {"code": current_code(new)}).status_code == 302
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", flat=True)) == [new.pk]
    assert not TOTPDevice.objects.filter(pk=old.pk).exists()
