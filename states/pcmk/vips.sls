{#- Virtual IPs from pillar pcmk:vips, each an ocf:heartbeat:IPaddr2 resource.
    pcmk:vips:<id>: {ip, cidr_netmask, nic, ...: any IPaddr2 parameter} #}
{%- for vip, params in salt['pillar.get']('pcmk:vips', {}) | dictsort %}
{{ vip }}:
  pcmk.resource:
    - agent: ocf:heartbeat:IPaddr2
    - params: {{ params | json }}
    - ops:
      - {name: monitor, interval: 10s, timeout: 20s}
{%- endfor %}
