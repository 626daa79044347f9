import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deliversNoEvents, mountOf, parseMountInfo, pollingReason } from '../../../src/adapters/watch/filesystem.ts';

const mountinfo = [
  '22 27 0:21 / /proc rw,relatime - proc proc rw',
  '27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw',
  '40 27 0:50 / /home/me/nfs rw,relatime - nfs4 server:/export rw',
  '41 27 0:51 / /mnt/c rw,noatime - 9p drvfs rw,aname=drvfs',
  '42 27 0:52 / /home/me/remote\\040dir rw - fuse.sshfs me@host: rw',
  '43 40 8:2 / /home/me/nfs/local rw - ext4 /dev/sdb1 rw',
].join('\n');

describe('filesystems without kernel events', () => {
  it('reads mountinfo, octal escapes included', () => {
    const mounts = parseMountInfo(mountinfo);
    assert.equal(mounts.length, 6);
    assert.deepEqual(mounts[4], { mountPoint: '/home/me/remote dir', fsType: 'fuse.sshfs' });
  });

  it('finds the innermost mount of a path', () => {
    const mounts = parseMountInfo(mountinfo);
    assert.equal(mountOf('/home/me/nfs/src/a.js', mounts)?.fsType, 'nfs4');
    assert.equal(mountOf('/home/me/nfs/local/x', mounts)?.fsType, 'ext4');
    assert.equal(mountOf('/home/me/nfsother', mounts)?.fsType, 'ext4');
    assert.equal(mountOf('/mnt/c/Users', mounts)?.fsType, '9p');
  });

  it('knows which types deliver no events', () => {
    for (const t of ['nfs', 'nfs4', 'cifs', 'smb3', '9p', 'drvfs', 'vboxsf', 'fuse.sshfs', 'fuse.rclone']) assert.ok(deliversNoEvents(t), t);
    for (const t of ['ext4', 'xfs', 'btrfs', 'tmpfs', 'overlay', 'zfs']) assert.ok(!deliversNoEvents(t), t);
  });

  it('names the first path to poll, and nothing for local disks', () => {
    assert.equal(pollingReason(['/home/me/nfs/app/src'], mountinfo), '/home/me/nfs/app/src is on nfs4');
    assert.equal(pollingReason(['/srv/app', '/mnt/c/Users/me/app'], mountinfo), '/mnt/c/Users/me/app is on 9p');
    assert.equal(pollingReason(['/srv/app', '/home/me/nfs/local'], mountinfo), undefined);
  });
});
