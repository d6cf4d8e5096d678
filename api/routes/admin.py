"""Admins: API keys. The key is returned once, when made; only its hash is kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.app import state_of
from api.auth import LastAdminKey, Principal, Role, create_key, list_keys, require, revoke_key
from api.routes.stations import ERRORS
from api.schemas import KeyCreate, KeyCreated, KeyOut, Problem

router = APIRouter(prefix="/v1", tags=["admin"])

AdminKey = Annotated[Principal, Depends(require(Role.ADMIN))]


@router.post("/keys", status_code=201, response_model=KeyCreated, summary="Make an API key", responses=ERRORS)
async def make_key(body: KeyCreate, request: Request, _principal: AdminKey) -> JSONResponse:
    new = await run_in_threadpool(create_key, state_of(request).engine, role=body.role, name=body.name,
                                   official=body.official)
    out = KeyCreated(id=new.id, name=new.name, role=new.role.value, official=new.official, key=new.key)
    return JSONResponse(out.model_dump(), status_code=201)


@router.get("/keys", response_model=list[KeyOut], summary="List API keys (never the keys themselves)",
            responses=ERRORS)
def get_keys(request: Request, _principal: AdminKey) -> list[KeyOut]:
    return [KeyOut(**row) for row in list_keys(state_of(request).engine)]  # type: ignore[arg-type]


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key",
               responses={**ERRORS, 404: {"model": Problem, "description": "no such key, or already revoked"},
                          409: {"model": Problem, "description": "the last active admin key"}})
def delete_key(key_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request, _principal: AdminKey) -> Response:
    try:
        revoked = revoke_key(state_of(request).engine, key_id)
    except LastAdminKey as exc:
        raise HTTPException(409, str(exc)) from exc
    if not revoked:
        raise HTTPException(404, f"no active key {key_id}")
    return Response(status_code=204)
