using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Whitesky.Emulator.Http;
using Whitesky.Emulator.Models;
using Whitesky.Emulator.State;

namespace Whitesky.Emulator.Routes;

internal sealed partial class EmulatorApi
{
    /// <summary>S3's part numbers, which the upload imitates.</summary>
    private const int MaxPartNumber = 10_000;

    private void MapCdroms()
    {
        const string Cdroms = "/customers/{customer_id}/locations/{location}/cdrom-images";
        Op("POST", Cdroms + "/upload-cdrom", "createCDROMMultipartUpload", CreateUploadAsync);
        Op("PUT", Cdroms + "/{upload_id}/upload-part/{part_id}", "UploadCDROMPart", UploadPartAsync);
        Op("POST", Cdroms + "/{upload_id}/finish-cdrom-upload", "createCustomerCDROMImageFromFile", FinishUploadAsync);
        Op("GET", Cdroms + "/{cdrom_id}", "getCDROMInfo", GetCdromAsync);
        Op("DELETE", Cdroms + "/{cdrom_id}", "deleteCustomerCDROMImage", DeleteCdromAsync);
    }

    private async Task<IResult> CreateUploadAsync(ApiCall call)
    {
        var fileName = call.Query.RequiredString("file_name");
        if (fileName.Length is 0 or > 255)
        {
            throw ApiError.BadRequest("file_name must be 1 to 255 characters");
        }

        var uploadId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var upload = new UploadRecord
        {
            UploadId = uploadId,
            ObjectName = $"cdrom-images/{uploadId}/{fileName}",
            FileName = fileName,
            Folder = Path.Combine(UploadsFolder, uploadId),
        };
        Directory.CreateDirectory(upload.Folder);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        _uploads.Add(uploadId, upload);
        return Ok(new UploadImageStruct(uploadId, upload.ObjectName, Options.CdromPartSize));
    }

    private async Task<IResult> UploadPartAsync(ApiCall call)
    {
        var objectName = call.Query.RequiredString("object_name");
        var uploadId = call.Route("upload_id");
        if (!int.TryParse(call.Route("part_id"), NumberStyles.None, CultureInfo.InvariantCulture, out var partNumber) || partNumber is < 1 or > MaxPartNumber)
        {
            throw ApiError.BadRequest($"part_id must be a part number from 1 to {MaxPartNumber}");
        }

        UploadRecord upload;
        using (await LockAsync(call.Aborted).ConfigureAwait(false))
        {
            upload = FindUpload(uploadId, objectName);
        }

        if (call.Http.Request.ContentLength > Options.CdromPartSize)
        {
            throw new ApiError(413, string.Create(CultureInfo.InvariantCulture, $"A part may hold at most part_size = {Options.CdromPartSize} bytes"));
        }

        // The part is written to a file of its own first, so a failed or oversized upload leaves the previous one intact.
        var partPath = Path.Combine(upload.Folder, string.Create(CultureInfo.InvariantCulture, $"part-{partNumber:D5}"));
        var temporary = partPath + "." + Guid.NewGuid().ToString("N") + ".tmp";
        string etag;
        try
        {
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                long total = 0;
                int read;
                while ((read = await call.Http.Request.Body.ReadAsync(buffer, call.Aborted).ConfigureAwait(false)) > 0)
                {
                    total += read;
                    if (total > Options.CdromPartSize)
                    {
                        throw new ApiError(413, string.Create(CultureInfo.InvariantCulture, $"A part may hold at most part_size = {Options.CdromPartSize} bytes"));
                    }

                    md5.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), call.Aborted).ConfigureAwait(false);
                }

                if (total == 0)
                {
                    throw ApiError.BadRequest("A part must not be empty");
                }
            }

            etag = "\"" + Convert.ToHexStringLower(md5.GetHashAndReset()) + "\"";
            using (await LockAsync(call.Aborted).ConfigureAwait(false))
            {
                FindUpload(uploadId, objectName);
                File.Move(temporary, partPath, overwrite: true);
                upload.PartEtags[partNumber] = etag;
            }
        }
        finally
        {
            File.Delete(temporary);
        }

        call.Http.Response.Headers.ETag = etag;
        return Ok(new Dictionary<string, string> { ["etag"] = etag });
    }

    private async Task<IResult> FinishUploadAsync(ApiCall call)
    {
        var name = call.Query.RequiredString("name");
        var osType = call.Query.RequiredString("os_type", SwaggerEnums.OsType);
        var osName = call.Query.RequiredString("os_name", SwaggerEnums.OsName);
        var body = (await call.BodyAsync(JsonInfo<CreateImageExpectStruct>(), required: true).ConfigureAwait(false))!;
        RequireBody(("object_name", body.ObjectName), ("uploaded_parts", body.UploadedParts));
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var upload = FindUpload(call.Route("upload_id"), body.ObjectName!);
        var parts = body.UploadedParts!;
        if (parts.Count == 0)
        {
            throw ApiError.BadRequest("uploaded_parts is empty");
        }

        for (var i = 0; i < parts.Count; i++)
        {
            var part = parts[i];
            if (i > 0 && part.PartNumber <= parts[i - 1].PartNumber)
            {
                throw ApiError.BadRequest("uploaded_parts must be in ascending order of part_number");
            }

            if (!upload.PartEtags.TryGetValue(part.PartNumber, out var etag))
            {
                throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"Part {part.PartNumber} was not uploaded"));
            }

            if (!string.Equals(etag.Trim('"'), part.Etag?.Trim('"'), StringComparison.OrdinalIgnoreCase))
            {
                throw ApiError.BadRequest(string.Create(CultureInfo.InvariantCulture, $"The etag of part {part.PartNumber} does not match the uploaded part"));
            }
        }

        var id = NextId();
        var path = Path.Combine(CdromsFolder, string.Create(CultureInfo.InvariantCulture, $"cdrom-{id}.iso"));
        await using (var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            foreach (var part in parts)
            {
                var partPath = Path.Combine(upload.Folder, string.Create(CultureInfo.InvariantCulture, $"part-{part.PartNumber:D5}"));
                await using var input = new FileStream(partPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                await input.CopyToAsync(output, call.Aborted).ConfigureAwait(false);
            }
        }

        _uploads.Remove(upload.UploadId);
        Directory.Delete(upload.Folder, recursive: true);
        var cdrom = new CdromRecord { Id = id, Name = name, OsType = osType, OsName = osName, Path = path, Size = new FileInfo(path).Length };
        _cdroms.Add(id, cdrom);
        return Ok(new Dictionary<string, int> { ["cdrom_id"] = id });
    }

    private async Task<IResult> GetCdromAsync(ApiCall call)
    {
        call.Query.Bool("include_logo", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var cdrom = FindCdrom(call.RouteInt("cdrom_id"), includeDeleted: true);
        return Ok(new ImageModel
        {
            ImageId = cdrom.Id,
            Status = cdrom.Status,
            Name = cdrom.Name,
            Description = cdrom.Name,
            OsType = cdrom.OsType,
            OsName = cdrom.OsName,
            BootType = "bios",
            Size = cdrom.Size,
        });
    }

    private async Task<IResult> DeleteCdromAsync(ApiCall call)
    {
        var permanently = call.Query.Bool("permanently", false);
        using var _ = await LockAsync(call.Aborted).ConfigureAwait(false);
        var cdrom = FindCdrom(call.RouteInt("cdrom_id"), includeDeleted: permanently);
        if (_vms.Values.FirstOrDefault(v => v.CdromIds.Contains(cdrom.Id)) is { } vm)
        {
            throw ApiError.Conflict($"CD-ROM {cdrom.Id} is attached to virtual machine {vm.Id}; detach it first");
        }

        if (permanently)
        {
            _cdroms.Remove(cdrom.Id);
            File.Delete(cdrom.Path);
        }
        else
        {
            cdrom.DeletionTime = Options.TimeProvider.GetUtcNow();
        }

        return Success();
    }

    private UploadRecord FindUpload(string uploadId, string objectName)
    {
        if (!_uploads.TryGetValue(uploadId, out var upload))
        {
            throw ApiError.NotFound("Upload", uploadId);
        }

        if (!string.Equals(upload.ObjectName, objectName, StringComparison.Ordinal))
        {
            throw ApiError.BadRequest($"object_name does not belong to upload {uploadId}");
        }

        return upload;
    }

    private CdromRecord FindCdrom(int id, bool includeDeleted = false) =>
        _cdroms.TryGetValue(id, out var cdrom) && (includeDeleted || cdrom.DeletionTime is null) ? cdrom : throw ApiError.NotFound("CD-ROM image", id);
}
