import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEVICE_MESSAGE_KINDS } from '@hyperfleet/contracts';
import {
  findPasswdHash,
  passwdUsernameOk,
  renderMosquittoAcl,
  renderMosquittoConf,
  renderPasswdFile,
} from './mosquitto-config';

const REPO = path.resolve(__dirname, '../../../..');

/** What deploy/mosquitto holds: the files for the eclipse-mosquitto image (docs/identity.md). */
const COMMITTED = {
  configDir: '/mosquitto/config',
  dataDir: '/mosquitto/data',
  gatewayBind: '0.0.0.0',
};

describe('generated Mosquitto files', () => {
  it('deploy/mosquitto/acl is what the generator writes for the default gateway account', () => {
    expect(fs.readFileSync(path.join(REPO, 'deploy/mosquitto/acl'), 'utf8')).toBe(
      renderMosquittoAcl('hyperfleet-gateway'),
    );
  });

  it('deploy/mosquitto/mosquitto.conf is what the generator writes for the container', () => {
    expect(fs.readFileSync(path.join(REPO, 'deploy/mosquitto/mosquitto.conf'), 'utf8')).toBe(
      renderMosquittoConf(COMMITTED),
    );
  });

  it('the ACL has a pattern per device topic and the mirror image for the gateway account', () => {
    const acl = renderMosquittoAcl('gw').split('\n');
    for (const k of DEVICE_MESSAGE_KINDS) {
      expect(acl).toContain(`pattern write hf/v1/%u/${k}`);
      expect(acl).toContain(`topic read hf/v1/+/${k}`);
      expect(acl).toContain(`topic read $share/+/hf/v1/+/${k}`);
    }
    for (const s of ['reply', 'desired', 'cmd/+']) {
      expect(acl).toContain(`pattern read hf/v1/%u/${s}`);
      expect(acl).toContain(`topic write hf/v1/+/${s}`);
    }
    expect(acl).toContain('user gw');
    expect(acl.filter((l) => /^(pattern|topic)/.test(l) && /#$/.test(l))).toEqual([]);
  });

  it('the configuration refuses anonymous clients and ties a device client id to its username', () => {
    const conf = renderMosquittoConf({ configDir: '/etc/hf/', port: 18830, gatewayPort: 18831 });
    expect(conf).toContain('allow_anonymous false\n');
    expect(conf).toContain('password_file /etc/hf/passwd\n');
    expect(conf).toContain('acl_file /etc/hf/acl\n');
    expect(conf).toContain('listener 18830\nuse_username_as_clientid true\n');
    expect(conf).toContain('listener 18831 127.0.0.1\n');
    expect(conf).toContain('persistence false\n');
    expect(conf).toMatch(/^max_packet_size 263168$/m);
  });

  it('writes username:hash lines, and refuses usernames Mosquitto would split', () => {
    expect(renderPasswdFile([{ username: 'dev-1', passwordHash: '$7$1000$s$h' }])).toBe(
      'dev-1:$7$1000$s$h\n',
    );
    expect(passwdUsernameOk('ipc:0042')).toBe(false);
    expect(() => renderPasswdFile([{ username: 'ipc:0042', passwordHash: '$7$1$s$h' }])).toThrow();
    expect(findPasswdHash('a:$7$1$x$y\nhyperfleet-gateway:$7$2$s$h\n', 'hyperfleet-gateway')).toBe(
      '$7$2$s$h',
    );
    expect(findPasswdHash('a:$7$1$x$y\n', 'hyperfleet-gateway')).toBeNull();
  });
});
