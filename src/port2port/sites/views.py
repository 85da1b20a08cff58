"""Pages of sites: the ports one may see, each port's map and its areas, facilities, zones, gates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from port2port.core.errors import Forbidden, Invalid
from port2port.core.forms import run_service
from port2port.core.roles import Perm
from port2port.core.selectors import organisations_visible_to
from port2port.core.visibility import reach

from . import selectors, services
from .forms import AreaForm, DeviceEditForm, DeviceForm, FacilityForm, GateForm, ZoneForm
from .models import AntiPassback


@login_required
def ports_view(request):
    if not reach(request.user, Perm.SITES_SITE_VIEW):
        raise Forbidden(_("your roles do not include the port map"))
    return render(
        request,
        "sites/ports.html",
        {"ports": selectors.ports_visible_to(request.user), "section": "sites"},
    )


@login_required
def port_view(request, locode):
    port = selectors.port_get(request.user, locode)
    return render(
        request,
        "sites/port.html",
        {
            "port": port,
            "areas": selectors.areas_of(request.user, port),
            "facilities": selectors.facilities_of(request.user, port),
            "zones": selectors.zones_of(request.user, port),
            "gates": selectors.gates_of(request.user, port),
            "devices": selectors.devices_of(request.user, port),
            "can_change": selectors.may_change(request.user, port),
            "anti_passback_choices": AntiPassback.choices,
            "tile_url": settings.SITES_TILE_URL,
            "section": "sites",
        },
    )


@login_required
def port_map_view(request, locode):
    port = selectors.port_get(request.user, locode)
    return JsonResponse(selectors.port_map(request.user, port), content_type="application/geo+json")


@login_required
def area_anti_passback_view(request, locode, area_id):
    """Set an area's anti-passback (port authority); POST only."""
    from port2port.core.visibility import one_or_404

    from .forms import AntiPassbackForm

    port = selectors.port_get(request.user, locode)
    if request.method != "POST":
        return redirect("sites:port", locode=port.locode)
    area = one_or_404(selectors.areas_of(request.user, port), pk=area_id)
    form = AntiPassbackForm(request.POST)
    done, _result = run_service(
        form,
        lambda data: services.area_anti_passback_set(actor=request.user, area=area, **data),
    )
    if done:
        messages.success(request, _("Anti-passback of %(area)s saved.") % {"area": area.name})
    else:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, errors)
    return redirect("sites:port", locode=port.locode)


FORMS = {
    "area": AreaForm,
    "facility": FacilityForm,
    "zone": ZoneForm,
    "gate": GateForm,
    "device": DeviceForm,
}


def _form(kind, request, port, data=None, form_class=None, **form_kwargs):
    viewer = request.user
    kwargs = {}
    if kind == "facility":
        kwargs = {
            "areas": selectors.areas_of(viewer, port),
            "operators": organisations_visible_to(viewer, port=port.locode),
        }
    elif kind in {"zone", "gate"}:
        kwargs = {
            "facilities": selectors.facilities_of(viewer, port),
            "zones": selectors.zones_of(viewer, port),
        }
    elif kind == "device":
        kwargs = {
            "zones": selectors.zones_of(viewer, port),
            "gates": selectors.gates_of(viewer, port),
            "owners": organisations_visible_to(viewer, port=port.locode),
        }
    return (form_class or FORMS[kind])(data, **kwargs, **form_kwargs)


@login_required
def site_create_view(request, locode, kind):
    if kind not in FORMS:
        raise Invalid(_("unknown kind of site"), field="kind")
    port = selectors.port_get(request.user, locode)
    form = _form(kind, request, port, request.POST or None)
    create = {
        "area": services.area_create,
        "facility": services.facility_create,
        "zone": services.zone_create,
        "gate": services.gate_create,
        "device": services.device_create,
    }[kind]

    def store(data):
        if kind == "gate":
            data = {**data, "leads_into": list(data["leads_into"])}
        return create(actor=request.user, port=port, **data)

    if request.method == "POST" and run_service(form, store)[0]:
        messages.success(request, _("Saved."))
        return redirect("sites:port", locode=port.locode)
    titles = {
        "area": _("New area"),
        "facility": _("New port facility"),
        "zone": _("New zone"),
        "gate": _("New gate"),
        "device": _("New device"),
    }
    return render(
        request,
        "sites/site_form.html",
        {"form": form, "port": port, "title": titles[kind], "section": "sites"},
    )


@login_required
def device_edit_view(request, locode, device_id):
    """Change a device's name, place, gate, owner and silence threshold; code and kind stay."""
    import json

    from port2port.core.visibility import one_or_404

    port = selectors.port_get(request.user, locode)
    device = one_or_404(selectors.devices_of(request.user, port), pk=device_id)
    if not selectors.may_change_device(request.user, device):
        raise Forbidden(_("you may not change this device"))
    initial = {
        "name": device.name,
        "geometry": json.dumps(device.geometry),
        "owner": device.owner_id,
        "zone": device.zone_id,
        "gate": device.gate_id,
        "silent_after": device.silent_after,
    }
    form = _form(
        "device", request, port, request.POST or None, form_class=DeviceEditForm, initial=initial
    )

    def store(data):
        return services.device_update(actor=request.user, device=device, **data)

    if request.method == "POST" and run_service(form, store)[0]:
        messages.success(request, _("Saved."))
        return redirect("sites:port", locode=port.locode)
    return render(
        request,
        "sites/device_form.html",
        {"form": form, "port": port, "device": device, "section": "sites"},
    )


@login_required
def device_token_view(request, locode, device_id):
    """Issue a new token for a device (POST); shown once on the page that follows."""
    from port2port.core.visibility import one_or_404

    port = selectors.port_get(request.user, locode)
    device = one_or_404(selectors.devices_of(request.user, port), pk=device_id)
    if request.method != "POST":
        return redirect("sites:port", locode=port.locode)
    token = services.device_token_issue(actor=request.user, device=device)
    return render(
        request,
        "sites/device_token.html",
        {"port": port, "device": device, "token": token, "section": "sites"},
    )


@login_required
def device_active_view(request, locode, device_id):
    """Switch a device off or on (POST)."""
    from port2port.core.errors import AppError
    from port2port.core.visibility import one_or_404

    port = selectors.port_get(request.user, locode)
    device = one_or_404(selectors.devices_of(request.user, port), pk=device_id)
    if request.method == "POST":
        try:
            services.device_active_set(
                actor=request.user, device=device, active=request.POST.get("active") == "1"
            )
            messages.success(request, _("Saved."))
        except AppError as error:
            messages.error(request, error.message)
    return redirect("sites:port", locode=port.locode)
