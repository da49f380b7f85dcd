{#- Virtual IPs from pillar pcmk:vips, each an ocf:heartbeat:IPaddr2 resource
    (or pcmk:vips:<id>:agent) with the operations its agent advises.
    pcmk:vips:<id>: {ip, cidr_netmask, nic, ...: any agent parameter;
                     ops: [...], meta: {...}: as for pcmk.resource} #}
{%- for vip, vip_args in salt['pcmk.pillar_vips']() | dictsort %}
{{ vip }}:
  pcmk.resource:
    - agent: {{ vip_args.agent }}
    - params: {{ vip_args.params | json }}
{%- if vip_args.ops is not none %}
    - ops: {{ vip_args.ops | json }}
{%- endif %}
{%- if vip_args.meta is not none %}
    - meta: {{ vip_args.meta | json }}
{%- endif %}
{%- endfor %}
