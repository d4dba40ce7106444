"""A generated NetBox shop for the import benchmark (see `opskit.lab.netbox`).

Per site: 20 switches of 48 interfaces, 20 patch panels of 48 front and 48 rear ports
(every other one wired in reverse, front N -> rear 49-N), 10 servers of 4 interfaces;
1,000 cables: switch ports 1-24 to their panel's front, panel pairs joined rear to rear,
and panel fronts 25-28 to the servers. 100 sites give 5,000 devices and 100,000 cables.
"""

from __future__ import annotations

from typing import Any

COLORS = ("2196f3", "f44336", "4caf50", "ffeb3b", "9e9e9e", "111111")


def generate_shop(sites: int) -> dict[str, Any]:
    """The shop dict for `opskit.lab.netbox.Shop`."""
    shop: dict[str, Any] = {
        "sites": [],
        "racks": [],
        "roles": [
            {"id": 1, "name": "Access", "slug": "access"},
            {"id": 2, "name": "Patch panel", "slug": "patch-panel"},
            {"id": 3, "name": "Server", "slug": "server"},
        ],
        "platforms": [
            {"id": 1, "name": "Cisco IOS", "slug": "cisco-ios"},
            {"id": 2, "name": "Linux", "slug": "linux"},
        ],
        "device_types": [
            {"id": 1, "model": "C9300-48P", "manufacturer": "Cisco", "slug": "c9300-48p"},
            {"id": 2, "model": "48-port panel", "manufacturer": "Generic", "slug": "pp48"},
            {"id": 3, "model": "R650", "manufacturer": "Dell", "slug": "r650"},
        ],
        "tags": [{"id": 1, "name": "Bench", "slug": "bench"}],
        "devices": [],
        "interfaces": [],
        "front_ports": [],
        "rear_ports": [],
        "cables": [],
    }
    ids = {"device": 0, "interface": 0, "front": 0, "rear": 0, "cable": 0}

    def nid(kind: str) -> int:
        ids[kind] += 1
        return ids[kind]

    for s in range(sites):
        sid = s + 1
        shop["sites"].append(
            {
                "id": sid,
                "name": f"Site {s:03d}",
                "slug": f"s{s:03d}",
                "physical_address": f"{s} Bench Street",
            }
        )
        racks = [sid * 2 - 1, sid * 2]
        for n, rid in enumerate(racks):
            shop["racks"].append({"id": rid, "name": f"R{n + 1}", "site": sid})

        def device(
            name: str,
            role: int,
            platform: int | None,
            dtype: int,
            pos: int,
            sid: int = sid,
            racks: list[int] = racks,
            s: int = s,
        ) -> int:
            did = nid("device")
            shop["devices"].append(
                {
                    "id": did,
                    "name": name,
                    "site": sid,
                    "rack": racks[pos % 2],
                    "position": 1 + pos % 40,
                    "role": role,
                    "platform": platform,
                    "device_type": dtype,
                    "tags": [1],
                    **(
                        {"primary_ip4": f"10.{s // 250}.{s % 250}.{pos + 1}/24"} if platform else {}
                    ),
                }
            )
            return did

        switch_ports: list[dict[int, int]] = []
        for i in range(20):
            did = device(f"sw-{s:03d}-{i:02d}", 1, 1, 1, i)
            ports = {}
            for p in range(1, 49):
                iid = nid("interface")
                shop["interfaces"].append({"id": iid, "device": did, "name": f"Gi1/0/{p}"})
                ports[p] = iid
            switch_ports.append(ports)
        fronts: list[dict[int, int]] = []
        rears: list[dict[int, int]] = []
        for j in range(20):
            did = device(f"pp-{s:03d}-{j:02d}", 2, None, 2, 20 + j)
            rear = {}
            for r in range(1, 49):
                rid = nid("rear")
                shop["rear_ports"].append(
                    {"id": rid, "device": did, "name": str(r), "positions": 1}
                )
                rear[r] = rid
            front = {}
            for f in range(1, 49):
                fid = nid("front")
                target = 49 - f if j % 2 == 0 else f  # every other panel wired in reverse
                shop["front_ports"].append(
                    {
                        "id": fid,
                        "device": did,
                        "name": str(f),
                        "rear_port": rear[target],
                        "rear_port_position": 1,
                    }
                )
                front[f] = fid
            fronts.append(front)
            rears.append(rear)
        servers: list[dict[int, int]] = []
        for k in range(10):
            did = device(f"srv-{s:03d}-{k:02d}", 3, 2, 3, 40 + k)
            eth = {}
            for e in range(4):
                iid = nid("interface")
                shop["interfaces"].append({"id": iid, "device": did, "name": f"eth{e}"})
                eth[e] = iid
            servers.append(eth)

        def cable(a: tuple[str, int], b: tuple[str, int], n: int, s: int = s) -> None:
            cid = nid("cable")
            shop["cables"].append(
                {
                    "id": cid,
                    "label": f"S{s:03d} C{n:04d}",
                    "color": COLORS[n % len(COLORS)],
                    "length": 1 + n % 5,
                    "length_unit": "m",
                    "type": "cat6",
                    "status": "connected",
                    "a": [list(a)],
                    "b": [list(b)],
                }
            )

        n = 0
        for i in range(20):
            for p in range(1, 25):
                cable(("dcim.interface", switch_ports[i][p]), ("dcim.frontport", fronts[i][p]), n)
                n += 1
        for k in range(10):
            for r in range(1, 49):
                cable(("dcim.rearport", rears[2 * k][r]), ("dcim.rearport", rears[2 * k + 1][r]), n)
                n += 1
        for k in range(10):
            for e in range(4):
                cable(("dcim.frontport", fronts[k][25 + e]), ("dcim.interface", servers[k][e]), n)
                n += 1
    return shop
