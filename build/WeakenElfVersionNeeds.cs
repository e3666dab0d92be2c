using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

// Marks selected version requirements in an ELF64 little-endian shared object as weak (VER_FLG_WEAK = 0x2).
public class WeakenElfVersionNeeds : Task
{
    [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string VersionNames { get; set; } = "";

    public override bool Execute()
    {
        var names = VersionNames.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(n => n.Trim()).ToArray();
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            var bytes = File.ReadAllBytes(path);
            if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[4] != 2 || bytes[5] != 1)
            {
                Log.LogWarning("{0} is not an ELF64 little-endian file; left unchanged", path);
                continue;
            }
            long shoff = BitConverter.ToInt64(bytes, 0x28);
            int shentsize = BitConverter.ToUInt16(bytes, 0x3A), shnum = BitConverter.ToUInt16(bytes, 0x3C);
            int changed = 0;
            for (int s = 0; s < shnum; s++)
            {
                long sh = shoff + (long)s * shentsize;
                if (BitConverter.ToUInt32(bytes, (int)sh + 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
                long offset = BitConverter.ToInt64(bytes, (int)sh + 24);
                int link = (int)BitConverter.ToUInt32(bytes, (int)sh + 40);
                int count = (int)BitConverter.ToUInt32(bytes, (int)sh + 44);
                long strOff = BitConverter.ToInt64(bytes, (int)(shoff + (long)link * shentsize) + 24);
                long vn = offset;
                for (int i = 0; i < count; i++)
                {
                    int cnt = BitConverter.ToUInt16(bytes, (int)vn + 2);
                    long aux = vn + BitConverter.ToUInt32(bytes, (int)vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        int nameOff = (int)(strOff + BitConverter.ToUInt32(bytes, (int)aux + 8));
                        int end = Array.IndexOf(bytes, (byte)0, nameOff);
                        string name = Encoding.ASCII.GetString(bytes, nameOff, end - nameOff);
                        if (names.Contains(name))
                        {
                            ushort flags = BitConverter.ToUInt16(bytes, (int)aux + 4);
                            if ((flags & 0x2) == 0)
                            {
                                flags |= 0x2;
                                bytes[aux + 4] = (byte)(flags & 0xff);
                                bytes[aux + 5] = (byte)(flags >> 8);
                                changed++;
                            }
                        }
                        aux += BitConverter.ToUInt32(bytes, (int)aux + 12);
                    }
                    vn += BitConverter.ToUInt32(bytes, (int)vn + 12);
                }
            }
            if (changed > 0)
            {
                File.WriteAllBytes(path, bytes);
                Log.LogMessage(MessageImportance.Normal, "Weakened {0} version requirement(s) in {1}", changed, path);
            }
        }
        return !Log.HasLoggedErrors;
    }
}
