import type zh from '../zh-CN/files'

/** Attachments, file cards and the image viewer (en). Refusals are in `errors.upload`. */
const files: typeof zh = {
  attach: 'Attach files',
  dropHint: 'Drop to upload',
  dropTarget: 'Files will be sent to "{room}"',
  trayLabel: 'Attachments to send',
  uploading: 'Uploading',
  uploaded: 'Uploaded',
  cancelUpload: 'Cancel upload',
  cancelUploadOf: 'Cancel upload: {name}',
  removeOf: 'Remove: {name}',
  waitForUploads: 'Files are still uploading; you can send once they are done',
  removeFailed: 'Remove the files that failed to upload first',
  tooMany: 'You can attach at most {max} file per message | You can attach at most {max} files per message',
  tooLarge: 'File too large: the limit is {limit}',
  pastedImage: 'Pasted image',
  unnamed: 'Untitled file',
  image: '[Image]',
  images: '[{n} images]',
  file: '[File] {name}',
  fileAndMore: '[File] {name} and more ({n} attachments)',
  attachment: '[Attachment]',
  download: 'Download',
  downloadFile: 'Download {name}',
  downloadFailed: 'Download failed: {error}',
  openImage: 'View image: {name}',
  imageFailed: 'The image could not be loaded',
  viewer: 'Image viewer',
  close: 'Close (Esc)',
  prev: 'Previous image',
  next: 'Next image',
  loadingOriginal: 'Loading the original…',
}

export default files
